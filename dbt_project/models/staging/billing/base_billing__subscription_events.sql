{{ config(materialized='table') }}

with

landed_subscription_events as (

    select
        {{ source_columns('billing__subscription_events') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'billing__subscription_events') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows
    where received_at < {{ as_of_end() }}

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
            missing_required(['id', 'tenant_id', 'subscription_id', 'user_id', 'status', 'plan_id', 'quantity', 'occurred_at', 'received_at']),
            implausible_timestamp(['occurred_at', 'received_at']),
            invalid_enum({'event_type': ['created', 'activated', 'plan_changed', 'quantity_changed', 'past_due', 'canceled', 'reactivated'], 'status': ['trialing', 'active', 'past_due', 'canceled']}),
            future_timestamp('occurred_at', 'received_at'),
        ]) }} as reasons
    from landed_subscription_events
    left join tenants
        on landed_subscription_events.tenant_id = tenants.known_tenant_id

),

classified as (

    select
        validated.*,
        {{ row_status('_loaded_at, _batch_id') }} as row_status
    from validated

),

final as (

    select
        classified.*,
        -- staging keeps the latest accepted version of each id
        {{ is_current_version('received_at desc, _loaded_at desc, _batch_id desc, _row_hash') }} as is_current
    from classified

)

select * from final
