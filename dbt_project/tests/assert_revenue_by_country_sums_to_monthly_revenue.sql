{#- Invariant across models: summing fct_revenue_by_country_monthly over a
    tenant's countries gives fct_monthly_revenue's gross_revenue, refunds,
    net_revenue and payments_succeeded for that month (exact sums of cents).
    A month of fct_monthly_revenue without country rows must have no gross
    revenue and no refunds. Returns one row per tenant and month that differs,
    or a country month that fct_monthly_revenue does not have. -#}

with

revenue_by_country as (

    select * from {{ ref('fct_revenue_by_country_monthly') }}

),

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

country_totals as (

    select
        tenant_id,
        revenue_month,
        sum(gross_revenue) as country_gross_revenue,
        sum(refunds) as country_refunds,
        sum(net_revenue) as country_net_revenue,
        sum(payments_succeeded) as country_payments_succeeded
    from revenue_by_country
    group by tenant_id, revenue_month

),

{{ monthly_revenue_mismatches(
    'country_totals',
    {
        'gross_revenue': 'country_gross_revenue',
        'refunds': 'country_refunds',
        'net_revenue': 'country_net_revenue',
        'payments_succeeded': 'country_payments_succeeded',
    }
) }}

select * from violations
