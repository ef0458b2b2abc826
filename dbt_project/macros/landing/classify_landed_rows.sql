{#- The shared tail of every base_ staging model: three CTEs, `numbered`,
    `classified` and `final`, over the CTE `relation` (landed rows with id,
    _row_hash and reasons).
    numbered: _copy_number, the rank of each identical copy (copy_number, in
    landing_order); classified: row_status (duplicate / quarantined /
    accepted, see row_status); final: is_current, true on the one accepted
    row per id that staging keeps (first in version_order). Emitting the CTEs
    keeps the compiled SQL exactly what each model spelled out before. -#}
{% macro classify_landed_rows(relation, landing_order, version_order) -%}
numbered as (

    select
        {{ relation }}.*,
        {{ copy_number(landing_order) }} as _copy_number
    from {{ relation }}

),

classified as (

    select
        numbered.*,
        {{ row_status() }} as row_status
    from numbered

),

final as (

    select
        classified.*,
        {{ is_current_version(version_order) }} as is_current
    from classified

)
{%- endmacro %}
