{#- The first succeeded payment of each payer (docs/metrics.md "Succeeded payment":
    status succeeded or refunded, counted at settled_at; int_payments_attempts'
    succeeded_at). One row per tenant and user with at least one succeeded payment
    by the end of the as-of date. The "new revenue" of fct_revenue_by_period is the
    succeeded payments of users whose first_payment_date lies in the same period. -#}

with

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

final as (

    select
        tenant_id,
        user_id,
        min(succeeded_at) as first_payment_at,
        min(succeeded_date) as first_payment_date
    from payment_attempts
    where is_succeeded
    group by tenant_id, user_id

)

select * from final
