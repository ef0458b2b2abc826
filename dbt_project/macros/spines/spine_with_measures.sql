{#- The rows of a mart whose grain is a calendar spine: every row of `spine` (a
    tenant_spine, a spine_per_series grid or the hours of hourly_rebuild_scaffold)
    with the measures of the CTEs in `measures` (a mapping of CTE name to its
    measure columns, each CTE keyed on tenant_id, `period_column` and the `keys`),
    left joined and zero where a CTE has no row for the period: periods without
    activity are rows of zeros. `nullable_measures` (same form) are taken as they
    are, null where their CTE has no row (averages and percentiles over nothing).
    `spine_columns` are further columns of the spine carried as they are, not
    joined on (a plan's name, a period's end). Columns: tenant_id, the period (the
    spine's `spine_period_column`, named `period_column`), the keys, the spine
    columns, the nullable measures, then the measures, each in the order given.
    Emits a complete select statement: use it as the body of a CTE. -#}
{% macro spine_with_measures(
    spine, period_column, measures, keys=[], spine_period_column='period_start', nullable_measures={},
    spine_columns=[]
) -%}
    {#- every CTE joined once: those of measures, then those only in nullable_measures -#}
    {%- set relations = (measures.keys() | list) + (nullable_measures.keys() | reject('in', measures) | list) %}
    select
        {{ spine }}.tenant_id,
        {{ spine }}.{{ spine_period_column }}{{ ' as ' ~ period_column if period_column != spine_period_column }},
        {%- for column in keys + spine_columns %}
        {{ spine }}.{{ column }},
        {%- endfor %}
        {%- for relation, columns in nullable_measures.items() %}
        {%- for column in columns %}
        {{ relation }}.{{ column }},
        {%- endfor %}
        {%- endfor %}
        {%- for relation, columns in measures.items() %}
        {{ measures_or_zero(relation, columns) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ spine }}
    {%- for relation in relations %}
    left join {{ relation }}
        on {{ spine }}.tenant_id = {{ relation }}.tenant_id
        and {{ spine }}.{{ spine_period_column }} = {{ relation }}.{{ period_column }}
        {%- for key in keys %}
        and {{ spine }}.{{ key }} = {{ relation }}.{{ key }}
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}
