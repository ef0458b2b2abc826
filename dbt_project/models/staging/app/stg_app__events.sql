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
        {{ cast_to_source_contract('app__events') }},
        origin
    from current_events

)

select * from final
