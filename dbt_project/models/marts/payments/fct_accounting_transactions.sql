{{ config(
    indexes=[{'columns': ['tenant_id', 'booked_date']}],
) }}

{#- The ledger an accountant reconciles against (docs/metrics.md
    fct_accounting_transactions): one row per money movement before the as-of
    instant. A `charge` (transaction_id `ch_<payment id>`) for each succeeded
    payment of int_payments_attempts (status succeeded or refunded: the one
    "succeeded payment" definition), booked at its succeeded_at (settled_at, or
    created_at when settled_at is null), amount positive; a `refund`
    (`rf_<refund id>`) for each refund of int_refunds_attributed, booked at its
    created_at, amount negative, with the refunded payment's method and resource.
    Failed and pending payments are never booked; quarantined rows never reach
    staging. Charges and refunds are dated exactly as fct_monthly_revenue counts
    gross revenue and refunds, so the amounts of a month sum to its net_revenue
    (tests/assert_accounting_transactions_sum_to_net_revenue.sql). country is the
    paying user's (`ZZ` when unknown), currency the tenant's (payments carry it:
    a payment in another currency is quarantined as currency_mismatch). -#}

with

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

refunds as (

    select * from {{ ref('int_refunds_attributed') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

organizations as (

    select * from {{ ref('stg_app__organizations') }}

),

charges as (

    select
        tenant_id,
        'ch_' || payment_id as transaction_id,
        'charge' as transaction_type,
        succeeded_at as booked_at,
        payment_id,
        cast(null as text) as refund_id,
        user_id,
        method,
        resource,
        amount_cents,
        'Payment ' || payment_id || ' by ' || method || coalesce(' for ' || resource, '') as description
    from payment_attempts
    where is_succeeded

),

refunds_booked as (

    select
        refunds.tenant_id,
        'rf_' || refunds.refund_id as transaction_id,
        'refund' as transaction_type,
        refunds.created_at as booked_at,
        refunds.payment_id,
        refunds.refund_id,
        refunds.user_id,
        payment_attempts.method,
        payment_attempts.resource,
        -refunds.amount_cents as amount_cents,
        'Refund ' || refunds.refund_id || ' of payment ' || refunds.payment_id
        || coalesce(': ' || refunds.reason, '') as description
    from refunds
    left join payment_attempts
        on
        refunds.tenant_id = payment_attempts.tenant_id
        and refunds.payment_id = payment_attempts.payment_id

),

ledger as (

    select * from charges
    union all
    select * from refunds_booked

),

final as (

    select
        cast(ledger.tenant_id as text) as tenant_id,
        cast(ledger.transaction_id as text) as transaction_id,
        cast(ledger.transaction_type as text) as transaction_type,
        cast(ledger.booked_at as timestamptz) as booked_at,
        cast({{ utc_date('ledger.booked_at') }} as date) as booked_date,
        cast(ledger.payment_id as text) as payment_id,
        cast(ledger.refund_id as text) as refund_id,
        cast(ledger.user_id as text) as user_id,
        cast(coalesce(users.country, 'ZZ') as text) as country,
        cast(ledger.method as text) as method,
        cast(ledger.resource as text) as resource,
        cast(organizations.currency as text) as currency,
        {{ cents_to_money('ledger.amount_cents') }} as amount,
        cast(ledger.description as text) as description
    from ledger
    left join users
        on
        ledger.tenant_id = users.tenant_id
        and ledger.user_id = users.id
    left join organizations
        on ledger.tenant_id = organizations.id

)

select * from final
