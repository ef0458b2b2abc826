{#- Invariant across models: fct_monthly_revenue.ending_mrr is the sum of the
    customers' month-end mrr in fct_mrr_movements for the same tenant and month
    (0 when the month has no movement rows). Returns one row per tenant and month
    where they differ, or where fct_mrr_movements has a month fct_monthly_revenue
    lacks. -#}

with

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

mrr_movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

movement_totals as (

    select
        tenant_id,
        revenue_month,
        sum(mrr) as movements_ending_mrr
    from mrr_movements
    group by tenant_id, revenue_month

),

compared as (

    select
        coalesce(monthly_revenue.tenant_id, movement_totals.tenant_id) as tenant_id,
        coalesce(monthly_revenue.revenue_month, movement_totals.revenue_month) as revenue_month,
        monthly_revenue.ending_mrr,
        coalesce(movement_totals.movements_ending_mrr, 0) as movements_ending_mrr,
        monthly_revenue.tenant_id is null as is_missing_from_monthly_revenue
    from monthly_revenue
    full outer join movement_totals
        on monthly_revenue.tenant_id = movement_totals.tenant_id
        and monthly_revenue.revenue_month = movement_totals.revenue_month

),

violations as (

    select * from compared
    where is_missing_from_monthly_revenue
        or ending_mrr is distinct from movements_ending_mrr

)

select * from violations
