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
        {{ cast_to_source_contract('billing__subscription_events') }}
    from current_subscription_events

)

select * from final
