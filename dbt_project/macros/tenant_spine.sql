{#- The one calendar spine of the marts: one row per tenant and period (day, week,
    month, quarter or year) over the tenant's covered range, i.e. from the period
    holding its first activity (first signup, event, subscription event or
    payment; see int_tenant_coverage) through the period holding the as-of date.
    Marts left join their measures to it, so periods without activity are rows of
    zeros rather than missing rows. Columns: tenant_id, period_start (date: the day,
    the Monday, the 1st of the month/quarter/year) and period_end (date, exclusive:
    the next period's start). Emits a complete select statement: use it as the body
    of a CTE. -#}
{% macro tenant_spine(grain) -%}
    {%- set steps = {'day': '1 day', 'week': '7 days', 'month': '1 month', 'quarter': '3 months', 'year': '1 year'} -%}
    {%- if grain not in steps -%}
        {{ exceptions.raise_compiler_error("tenant_spine: grain must be one of day, week, month, quarter, year; got '" ~ grain ~ "'") }}
    {%- endif -%}
    select
        coverage.tenant_id,
        cast(periods.period_start as date) as period_start,
        cast(periods.period_start + interval '{{ steps[grain] }}' as date) as period_end
    from {{ ref('int_tenant_coverage') }} as coverage
    cross join lateral generate_series(
        date_trunc('{{ grain }}', cast(coverage.covered_from_date as timestamp)),
        cast({{ as_of_date() }} as timestamp),
        interval '{{ steps[grain] }}'
    ) as periods (period_start)
    where coverage.covered_from_date is not null
{%- endmacro %}
