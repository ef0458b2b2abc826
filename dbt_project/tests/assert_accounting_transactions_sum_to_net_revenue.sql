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

{{ monthly_revenue_mismatches('ledger_by_month', {'net_revenue': 'ledger_net'}) }}

select * from violations
