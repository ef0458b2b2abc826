{#- The comparison at the end of a singular test that checks per-month totals
    of another mart against fct_monthly_revenue: the CTEs `compared` (the
    tenant-months of either side, by a full outer join of the CTE
    monthly_revenue and the CTE `totals`, both keyed by tenant_id and
    revenue_month) and `violations` (the tenant-months where any pair of
    `columns`, {fct_monthly_revenue column: totals column}, differs).
    zero_when_missing: a tenant-month without totals counts as totals of 0
    (true), or as missing, which differs from any value (false). -#}
{% macro monthly_revenue_mismatches(totals, columns, zero_when_missing=true) -%}
compared as (

    select
        coalesce(monthly_revenue.tenant_id, {{ totals }}.tenant_id) as tenant_id,
        coalesce(monthly_revenue.revenue_month, {{ totals }}.revenue_month) as revenue_month,
        {%- for mart_column, total_column in columns.items() %}
        monthly_revenue.{{ mart_column }},
        {% if zero_when_missing -%}
        coalesce({{ totals }}.{{ total_column }}, 0) as {{ total_column }}
        {%- else -%}
        {{ totals }}.{{ total_column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from monthly_revenue
    full outer join {{ totals }}
        on monthly_revenue.tenant_id = {{ totals }}.tenant_id
        and monthly_revenue.revenue_month = {{ totals }}.revenue_month

),

violations as (

    select * from compared
    where
        {%- for mart_column, total_column in columns.items() %}
        {{ 'or ' if not loop.first }}{{ mart_column }} is distinct from {{ total_column }}
        {%- endfor %}

)
{%- endmacro %}
