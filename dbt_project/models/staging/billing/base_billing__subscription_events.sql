{#-
    Every landed version of billing.subscription_events whose received_at is before the end of
    the as-of date, validated against SOURCES.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the first accepted landed copy of its id, the row stg_billing__subscription_events keeps.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_subscription_events as (

    select
        {{ source_columns('billing__subscription_events') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'billing__subscription_events') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where {{ extraction_key_visible('received_at') }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

validated as (

    select
        landed_subscription_events.*,
        {{ row_hash(source_columns('billing__subscription_events'), 'landed_subscription_events') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_subscription_events.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'subscription_id', 'user_id', 'status', 'plan_id', 'quantity', 'occurred_at', 'received_at'], source_column_types('billing__subscription_events')),
            implausible_timestamp(['occurred_at', 'received_at']),
            invalid_enum({'event_type': ['created', 'activated', 'plan_changed', 'quantity_changed', 'past_due', 'canceled', 'reactivated'], 'status': ['trialing', 'active', 'past_due', 'canceled']}),
            future_timestamp('occurred_at', 'received_at'),
        ]) }} as reasons
    from landed_subscription_events
    left join tenants
        on landed_subscription_events.tenant_id = tenants.known_tenant_id

),

-- append-only: staging keeps the first accepted landed copy of each id
{{ classify_landed_rows('validated', '_loaded_at, _batch_id', '_loaded_at, _batch_id, _row_hash') }}

select * from final
