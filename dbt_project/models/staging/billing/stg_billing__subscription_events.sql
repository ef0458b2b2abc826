{#-
    One row per billing.subscription_events id: its first accepted copy landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _billing__models.yml.
-#}
with

base_subscription_events as (

    select * from {{ ref('base_billing__subscription_events') }}

),

current_subscription_events as (

    -- the first accepted landed copy of each id (append-only)
    select * from base_subscription_events
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(subscription_id as text) as subscription_id,
        cast(user_id as text) as user_id,
        cast(event_type as text) as event_type,
        cast(status as text) as status,
        cast(plan_id as text) as plan_id,
        cast(quantity as integer) as quantity,
        cast(occurred_at as timestamptz) as occurred_at,
        cast(received_at as timestamptz) as received_at
    from current_subscription_events

)

select * from final
