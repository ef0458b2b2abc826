{{ config(
    indexes=[{'columns': ['tenant_id', 'created_at']}],
    post_hook=[
        "{{ payment_range_reads_index(this) }}",
    ],
) }}

{#- One row per accepted payment created before the as-of instant (docs/metrics.md
    fct_payment_attempts): the payment-level rows range statistics are computed
    from (latency percentiles over any from–to, never averaged daily
    percentiles; the ledger of the read API). latency_ms = settled_at −
    created_at of succeeded attempts (status succeeded or refunded) that have a
    settled_at, the same definition as fct_payments_daily. country is the
    paying user's (`ZZ` when unknown); currency the tenant's. payer_first_paid_at
    and subscription_first_paid_at: the earliest succeeded payment (settled_at,
    else created_at) of the row's user and country, and of its subscription. -#}

with

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

organizations as (

    select * from {{ ref('stg_app__organizations') }}

),

final as (

    select
        cast(payment_attempts.tenant_id as text) as tenant_id,
        cast(payment_attempts.payment_id as text) as payment_id,
        cast(payment_attempts.created_at as timestamptz) as created_at,
        cast(payment_attempts.settled_at as timestamptz) as settled_at,
        cast(payment_attempts.payment_date as date) as payment_date,
        cast(payment_attempts.status as text) as status,
        cast(payment_attempts.is_succeeded as boolean) as is_succeeded,
        cast(payment_attempts.method as text) as method,
        cast(organizations.currency as text) as currency,
        {{ cents_to_money('payment_attempts.amount_cents') }} as amount,
        cast(payment_attempts.resource as text) as resource,
        cast(payment_attempts.attempt_number as integer) as attempt_number,
        cast(payment_attempts.failure_reason as text) as failure_reason,
        cast(payment_attempts.settlement_latency_ms as numeric(14, 3)) as latency_ms,
        cast(payment_attempts.user_id as text) as user_id,
        cast(payment_attempts.invoice_id as text) as invoice_id,
        cast(payment_attempts.subscription_id as text) as subscription_id,
        cast(coalesce(users.country, 'ZZ') as text) as country,
        -- the first succeeded payment's instant (settled_at, else created_at) of the same user and country, and
        -- of the same subscription: whether a payer is new in a period, or a payment renews its subscription, is
        -- then read from the period's own rows instead of probing every payer's or subscription's history
        cast(
            case
                when payment_attempts.user_id is not null
                    then min(payment_attempts.succeeded_at) over payer_payments
            end as timestamptz
        ) as payer_first_paid_at,
        cast(
            case
                when payment_attempts.subscription_id is not null
                    then min(payment_attempts.succeeded_at) over subscription_payments
            end as timestamptz
        ) as subscription_first_paid_at
    from payment_attempts
    left join users
        on
        payment_attempts.tenant_id = users.tenant_id
        and payment_attempts.user_id = users.id
    left join organizations
        on payment_attempts.tenant_id = organizations.id
    window
        payer_payments as (
            partition by payment_attempts.tenant_id, payment_attempts.user_id, coalesce(users.country, 'ZZ')
        ),
        subscription_payments as (partition by payment_attempts.tenant_id, payment_attempts.subscription_id)

)

select * from final
