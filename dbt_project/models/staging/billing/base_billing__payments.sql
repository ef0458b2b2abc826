{#-
    Every landed version of billing.payments whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_billing__payments keeps.
    subscription_id is optional; when set it must name a subscription with an
    event landed by the as-of date in the row's own tenant, or the row is an
    orphan_reference.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_payments as (

    select
        {{ source_columns('billing__payments') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'billing__payments') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where {{ extraction_key_visible('updated_at') }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

subscription_events as (

    select * from {{ ref('base_billing__subscription_events') }}

),

known_subscriptions as (

    -- every subscription id landed at the as-of date in each tenant (any event, any status)
    select distinct
        tenant_id as subscription_tenant_id,
        subscription_id as known_subscription_id
    from subscription_events
    where subscription_id is not null

),

validated as (

    select
        landed_payments.*,
        {{ row_hash(source_columns('billing__payments'), 'landed_payments') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_payments.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'user_id', 'amount_cents', 'currency', 'method', 'status', 'attempt_number', 'created_at'], source_column_types('billing__payments')),
            implausible_timestamp(['created_at', 'settled_at', 'updated_at']),
            invalid_enum({'method': ['card', 'wallet', 'bank_transfer', 'crypto'], 'status': ['pending', 'succeeded', 'failed', 'refunded']}),
            negative_amount(['amount_cents']),
            currency_mismatch('landed_payments.currency', 'tenants.tenant_currency'),
            orphan_reference('landed_payments.subscription_id', 'known_subscriptions.known_subscription_id'),
        ]) }} as reasons
    from landed_payments
    left join tenants
        on landed_payments.tenant_id = tenants.known_tenant_id
    left join known_subscriptions
        on landed_payments.tenant_id = known_subscriptions.subscription_tenant_id
        and landed_payments.subscription_id = known_subscriptions.known_subscription_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
