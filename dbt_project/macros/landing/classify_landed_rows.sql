{#- The shared tail of every base_ staging model: three CTEs, `numbered`,
    `classified` and `final`, over the CTE `relation` (landed rows with id,
    _row_hash and reasons).
    numbered: _copy_number, the rank of each identical copy (copy_number, in
    landing_order); classified: row_status (duplicate / quarantined /
    accepted, see row_status); final: is_current, true on the one accepted
    row per id that staging keeps (first in version_order). Emitting the CTEs
    keeps the compiled SQL exactly what each model spelled out before.
    An incremental model that classifies only its new rows names what the
    table already holds of their ids: earlier_copies (copied_id,
    copied_row_hash, copies: identical copies landed before, counted ahead of
    the new ones) and earlier_accepted (accepted_id: ids with an accepted row
    already, which stays the current one). -#}
{% macro classify_landed_rows(relation, landing_order, version_order, earlier_copies=none, earlier_accepted=none) -%}
numbered as (

    select
        {{ relation }}.*,
        {{ copy_number(landing_order) }}
        {%- if earlier_copies %}
        + coalesce({{ earlier_copies }}.copies, 0)
        {%- endif %} as _copy_number
    from {{ relation }}
    {%- if earlier_copies %}
    left join {{ earlier_copies }}
        on {{ relation }}.id is not distinct from {{ earlier_copies }}.copied_id
        and {{ relation }}._row_hash = {{ earlier_copies }}.copied_row_hash
    {%- endif %}

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
        {{ is_current_version(version_order) }}
        {%- if earlier_accepted %}
        and {{ earlier_accepted }}.accepted_id is null
        {%- endif %} as is_current
    from classified
    {%- if earlier_accepted %}
    left join {{ earlier_accepted }}
        on classified.id = {{ earlier_accepted }}.accepted_id
    {%- endif %}

)
{%- endmacro %}
