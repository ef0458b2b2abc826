{#- Refunds created by the end of the as-of date, with the refunded payment's user
    and subscription. A refund counts on its own created_at (refund_date). -#}

with

refunds as (

    select * from {{ ref('stg_billing__refunds') }}

),

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

final as (

    select
        refunds.id as refund_id,
        refunds.tenant_id,
        refunds.payment_id,
        payments.user_id,
        payments.subscription_id,
        refunds.amount_cents,
        refunds.reason,
        refunds.created_at,
        {{ utc_date('refunds.created_at') }} as refund_date
    from refunds
    left join payments
        on refunds.tenant_id = payments.tenant_id
        and refunds.payment_id = payments.id
    where refunds.created_at < {{ as_of_end() }}

)

select * from final
