{#-
    One row per app event id that occurred before the as-of instant: the first
    accepted landed copy, whether it came from app.events or an event file (origin). Columns and types are the
    docs/sources.md contract, enforced in _app__models.yml.
-#}
with

base_events as (

    select * from {{ ref('base_app__events') }}

),

current_events as (

    -- the first accepted landed copy of each id (append-only), of the activity before the
    -- as-of instant: an event received before it but stamped at or after it (a client clock
    -- ahead) counts in its own hour and day from the first run after it occurred
    select * from base_events
    where
        is_current
        and occurred_at < {{ as_of_end() }}

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(user_id as text) as user_id,
        cast(session_id as text) as session_id,
        cast(event_type as text) as event_type,
        cast(properties as jsonb) as properties,
        cast(platform as text) as platform,
        cast(app_version as text) as app_version,
        cast(country as char(2)) as country,
        cast(occurred_at as timestamptz) as occurred_at,
        cast(received_at as timestamptz) as received_at,
        origin
    from current_events

)

select * from final
