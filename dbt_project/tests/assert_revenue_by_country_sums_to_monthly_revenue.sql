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

compared as (

    select
        coalesce(monthly_revenue.tenant_id, country_totals.tenant_id) as tenant_id,
        coalesce(monthly_revenue.revenue_month, country_totals.revenue_month) as revenue_month,
        monthly_revenue.gross_revenue,
        coalesce(country_totals.country_gross_revenue, 0) as country_gross_revenue,
        monthly_revenue.refunds,
        coalesce(country_totals.country_refunds, 0) as country_refunds,
        monthly_revenue.net_revenue,
        coalesce(country_totals.country_net_revenue, 0) as country_net_revenue,
        monthly_revenue.payments_succeeded,
        coalesce(country_totals.country_payments_succeeded, 0) as country_payments_succeeded
    from monthly_revenue
    full outer join country_totals
        on monthly_revenue.tenant_id = country_totals.tenant_id
        and monthly_revenue.revenue_month = country_totals.revenue_month

),

violations as (

    select * from compared
    where gross_revenue is distinct from country_gross_revenue
        or refunds is distinct from country_refunds
        or net_revenue is distinct from country_net_revenue
        or payments_succeeded is distinct from country_payments_succeeded

)

select * from violations
