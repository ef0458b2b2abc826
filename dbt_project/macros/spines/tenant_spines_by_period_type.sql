{#- The calendar spines of a mart reported per period type: one CTE per grain of
    `period_types` (named for it in the plural: days, weeks, months, quarters,
    years), each a tenant_spine of that grain, and `periods`, their union with
    a leading period_type column (tenant_id, period_type... as in the spines:
    period_type, tenant_id, period_start, period_end). Emits the CTEs followed
    by a comma. -#}
{% macro tenant_spines_by_period_type(period_types) -%}
{%- for period_type in period_types %}
{{ period_type }}s as (

    {{ tenant_spine(period_type) }}

),
{% endfor %}
periods as (
{% for period_type in period_types %}
    select
        '{{ period_type }}' as period_type,
        {{ period_type }}s.*
    from {{ period_type }}s
{% if not loop.last %}
    union all
{% endif %}
{%- endfor %}
),
{%- endmacro %}
