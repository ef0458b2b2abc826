{{ config(materialized='table') }}

{#- Customer MRR at the end of each month: one row per customer and month from the
    month of their first MRR change (int_customer_mrr_daily) through the as-of month.
    The end of a month is the end of its last day, and for the as-of month the end
    of the as-of date. Carries the previous month-end MRR (0 before the first month)
    and whether the customer had MRR > 0 at any earlier month end, which fct_mrr_movements
    classifies into new / reactivation / expansion / contraction / churn / unchanged. -#}

with

customer_mrr_changes as (

    select * from {{ ref('int_customer_mrr_daily') }}

),

months as (

    {{ tenant_spine('month') }}

),

customers as (

    select
        tenant_id,
        user_id,
        min(mrr_date) as first_mrr_date
    from customer_mrr_changes
    group by tenant_id, user_id

),

customer_months as (

    select
        customers.tenant_id,
        customers.user_id,
        months.period_start as revenue_month,
        {{ period_last_covered_date('months.period_end') }} as measured_on_date
    from customers
    inner join months
        on customers.tenant_id = months.tenant_id
        and months.period_end > customers.first_mrr_date

),

month_end_mrr as (

    select
        customer_months.tenant_id,
        customer_months.user_id,
        customer_months.revenue_month,
        customer_months.measured_on_date,
        cast(coalesce(customer_mrr_changes.mrr, 0) as numeric(14, 2)) as mrr
    from customer_months
    left join customer_mrr_changes
        on customer_months.tenant_id = customer_mrr_changes.tenant_id
        and customer_months.user_id = customer_mrr_changes.user_id
        and customer_mrr_changes.mrr_date <= customer_months.measured_on_date
        and (
            customer_mrr_changes.next_mrr_date is null
            or customer_mrr_changes.next_mrr_date > customer_months.measured_on_date
        )

),

final as (

    select
        tenant_id,
        user_id,
        revenue_month,
        measured_on_date,
        mrr,
        cast(coalesce(lag(mrr) over customer_months_in_order, 0) as numeric(14, 2)) as previous_mrr,
        coalesce(
            bool_or(mrr > 0) over (customer_months_in_order rows between unbounded preceding and 1 preceding),
            false
        ) as was_paying_at_earlier_month_end
    from month_end_mrr
    window customer_months_in_order as (partition by tenant_id, user_id order by revenue_month)

)

select * from final
