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

{{ monthly_revenue_mismatches('movement_totals', {'ending_mrr': 'movements_ending_mrr'}) }}

select * from violations
