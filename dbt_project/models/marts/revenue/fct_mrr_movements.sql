{#- MRR movements per customer and month (docs/metrics.md fct_mrr_movements): month-end
    MRR against the previous month end, classified in this order: previous 0 and now
    > 0 is `reactivation` when the customer had MRR > 0 at an earlier month end, else
    `new`; now 0 is `churn`; both > 0 is `expansion`, `contraction` or `unchanged`.
    Rows only where mrr > 0 or previous_mrr > 0; no zero rows (the grain includes the
    customer). -#}

with

customer_mrr_monthly as (

    select * from {{ ref('int_customer_mrr_monthly') }}

),

customer_months_with_mrr as (

    select * from customer_mrr_monthly
    where mrr > 0 or previous_mrr > 0

),

classified as (

    select
        *,
        {{ mrr_movement('mrr', 'previous_mrr', 'was_paying_at_earlier_month_end') }} as movement
    from customer_months_with_mrr

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(revenue_month as date) as revenue_month,
        cast(user_id as text) as user_id,
        cast(mrr as numeric(14, 2)) as mrr,
        cast(previous_mrr as numeric(14, 2)) as previous_mrr,
        cast(mrr - previous_mrr as numeric(14, 2)) as mrr_change,
        cast(movement as text) as movement
    from classified

)

select * from final
