{#- The one calendar spine of the marts: one row per tenant and period (day, week,
    month, quarter or year) over the tenant's covered range, i.e. from the period
    holding its first activity (first signup, event, subscription event or
    payment; see int_tenant_coverage) through the period holding the as-of date.
    Marts left join their measures to it, so periods without activity are rows of
    zeros rather than missing rows. Columns: tenant_id, the key columns, period_start
    (date: the day, the Monday, the 1st of the month/quarter/year) and period_end
    (date, exclusive: the next period's start). Emits a complete select statement:
    use it as the body of a CTE.

    extra_starts (optional): the name of a CTE/relation with columns tenant_id, the
    `keys` columns and start_date, one row per series to build (e.g. per tenant and
    funnel). Each series then starts at the earlier of the tenant's covered start and
    its start_date (a null start_date means the covered start), so facts that may
    precede the tenant's first app/billing activity (CRM leads) still have rows. -#}
{% macro tenant_spine(grain, extra_starts=none, keys=[]) -%}
    {%- set steps = {'day': '1 day', 'week': '7 days', 'month': '1 month', 'quarter': '3 months', 'year': '1 year'} -%}
    {%- if grain not in steps -%}
        {{ exceptions.raise_compiler_error("tenant_spine: grain must be one of day, week, month, quarter, year; got '" ~ grain ~ "'") }}
    {%- endif -%}
    {%- if keys and extra_starts is none -%}
        {{ exceptions.raise_compiler_error("tenant_spine: keys need extra_starts (the relation that carries them)") }}
    {%- endif -%}
    select
        series.tenant_id,
        {%- for key in keys %}
        series.{{ key }},
        {%- endfor %}
        cast(periods.period_start as date) as period_start,
        cast(periods.period_start + interval '{{ steps[grain] }}' as date) as period_end
    from (
        {%- if extra_starts is none %}
        select
            coverage.tenant_id,
            coverage.covered_from_date as series_start_date
        from {{ ref('int_tenant_coverage') }} as coverage
        {%- else %}
        select
            starts.tenant_id,
            {%- for key in keys %}
            starts.{{ key }},
            {%- endfor %}
            -- least() ignores nulls: the earlier of the two, or whichever exists
            least(coverage.covered_from_date, starts.start_date) as series_start_date
        from {{ extra_starts }} as starts
        left join {{ ref('int_tenant_coverage') }} as coverage
            on starts.tenant_id = coverage.tenant_id
        {%- endif %}
    ) as series
    cross join lateral generate_series(
        date_trunc('{{ grain }}', cast(series.series_start_date as timestamp)),
        cast({{ as_of_date() }} as timestamp),
        interval '{{ steps[grain] }}'
    ) as periods (period_start)
    where series.series_start_date is not null
{%- endmacro %}
