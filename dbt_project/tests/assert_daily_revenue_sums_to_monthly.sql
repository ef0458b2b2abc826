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

{{ monthly_revenue_mismatches(
    'daily_totals_by_month',
    {
        'gross_revenue': 'daily_gross_revenue',
        'refunds': 'daily_refunds',
        'net_revenue': 'daily_net_revenue',
    },
    zero_when_missing=false
) }}

select * from violations
