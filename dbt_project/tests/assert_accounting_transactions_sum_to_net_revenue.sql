{#- Invariant across models (docs/metrics.md fct_accounting_transactions): the ledger's
    amounts of a tenant and calendar month (by booked_date) sum to that month's
    fct_monthly_revenue net_revenue, exactly (both are sums of cents). Returns the
    tenant-months that differ, and ledger months fct_monthly_revenue lacks; a
    month without transactions must have a net_revenue of 0. -#}

with

transactions as (

    select * from {{ ref('fct_accounting_transactions') }}

),

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

ledger_by_month as (

    select
        tenant_id,
        cast(date_trunc('month', booked_date) as date) as revenue_month,
        sum(amount) as ledger_net
    from transactions
    group by tenant_id, cast(date_trunc('month', booked_date) as date)

),

compared as (

    select
        coalesce(monthly_revenue.tenant_id, ledger_by_month.tenant_id) as tenant_id,
        coalesce(monthly_revenue.revenue_month, ledger_by_month.revenue_month) as revenue_month,
        monthly_revenue.net_revenue,
        coalesce(ledger_by_month.ledger_net, 0) as ledger_net
    from monthly_revenue
    full outer join ledger_by_month
        on monthly_revenue.tenant_id = ledger_by_month.tenant_id
        and monthly_revenue.revenue_month = ledger_by_month.revenue_month

),

violations as (

    select * from compared
    where net_revenue is distinct from ledger_net

)

select * from violations
