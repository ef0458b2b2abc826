{#- Invariant across models: summing fct_daily_kpis gross_revenue, refunds and
    net_revenue over a calendar month gives fct_monthly_revenue's gross_revenue,
    refunds and net_revenue for that tenant and month (both are exact sums of
    cents, so equality is exact). Returns one row per tenant and month where any
    of the three differs, or where a month exists in only one of the two marts. -#}

with

daily_kpis as (

    select * from {{ ref('fct_daily_kpis') }}

),

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

daily_totals_by_month as (

    select
        tenant_id,
        cast(date_trunc('month', kpi_date) as date) as revenue_month,
        sum(gross_revenue) as daily_gross_revenue,
        sum(refunds) as daily_refunds,
        sum(net_revenue) as daily_net_revenue
    from daily_kpis
    group by tenant_id, cast(date_trunc('month', kpi_date) as date)

),

compared as (

    select
        coalesce(monthly_revenue.tenant_id, daily_totals_by_month.tenant_id) as tenant_id,
        coalesce(monthly_revenue.revenue_month, daily_totals_by_month.revenue_month) as revenue_month,
        monthly_revenue.gross_revenue,
        daily_totals_by_month.daily_gross_revenue,
        monthly_revenue.refunds,
        daily_totals_by_month.daily_refunds,
        monthly_revenue.net_revenue,
        daily_totals_by_month.daily_net_revenue
    from monthly_revenue
    full outer join daily_totals_by_month
        on monthly_revenue.tenant_id = daily_totals_by_month.tenant_id
        and monthly_revenue.revenue_month = daily_totals_by_month.revenue_month

),

violations as (

    select * from compared
    where gross_revenue is distinct from daily_gross_revenue
        or refunds is distinct from daily_refunds
        or net_revenue is distinct from daily_net_revenue

)

select * from violations
