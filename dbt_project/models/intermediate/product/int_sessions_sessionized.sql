{{ config(materialized='table') }}

{#- Sessionization (METRICS.md "Session"): a session is a maximal run of one user's
    events with no gap over var('session_gap_minutes') (30) minutes. One row per
    accepted app event that occurred by the end of the as-of date, carrying the
    session it belongs to; events without a user_id are kept (they count in event
    totals) but belong to no session (session_key null).

    Departs from "one row per session" on purpose: the event-level table is read by
    the session mart, the daily activity model and the business events, so the
    staging events are scanned and sorted once. session_key = md5 of tenant, user
    and the session's start instant (UTC, microseconds): deterministic across runs. -#}

with

events as (

    select * from {{ ref('stg_app__events') }}

),

events_in_range as (

    -- an event occurring after the end of the as-of date belongs to a later run
    select
        id as event_id,
        tenant_id,
        user_id,
        event_type,
        platform,
        occurred_at
    from events
    where occurred_at < {{ as_of_end() }}

),

user_events_with_previous as (

    select
        *,
        lag(occurred_at) over user_timeline as previous_occurred_at
    from events_in_range
    where user_id is not null
    window user_timeline as (partition by tenant_id, user_id order by occurred_at, event_id)

),

session_starts_flagged as (

    select
        *,
        (
            previous_occurred_at is null
            or occurred_at - previous_occurred_at > interval '1 minute' * {{ var('session_gap_minutes') }}
        ) as is_session_start
    from user_events_with_previous

),

session_starts_carried as (

    -- start times only grow along a user's timeline, so the running max of the
    -- start flags' times is the start of the session the event is in
    select
        *,
        max(case when is_session_start then occurred_at end) over (
            partition by tenant_id, user_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_started_at
    from session_starts_flagged

),

user_events_sessionized as (

    select
        event_id,
        tenant_id,
        user_id,
        event_type,
        platform,
        occurred_at,
        {{ utc_date('occurred_at') }} as event_date,
        is_session_start,
        session_started_at,
        md5(
            tenant_id || '|' || user_id || '|'
            || to_char(session_started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        ) as session_key
    from session_starts_carried

),

anonymous_events as (

    select
        event_id,
        tenant_id,
        user_id,
        event_type,
        platform,
        occurred_at,
        {{ utc_date('occurred_at') }} as event_date,
        false as is_session_start,
        cast(null as timestamptz) as session_started_at,
        cast(null as text) as session_key
    from events_in_range
    where user_id is null

),

final as (

    select * from user_events_sessionized
    union all
    select * from anonymous_events

)

select * from final
