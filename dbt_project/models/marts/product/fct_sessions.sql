{#- One row per session (docs/metrics.md "Session"), from the sessionized events: it
    belongs to the day it starts (session_date, UTC); duration = last event − first
    event; platform of its first event (if several events share the first instant,
    the alphabetically first platform among them). session_key = md5 of tenant_id,
    user_id and the start instant in UTC with microseconds: deterministic across runs.

    Incremental: only the users a new event touches (touched_event_keys: the
    rows base_app__events added since the last successful build, and the events
    that came into range since its instant) can have sessions that changed
    (int_sessions_sessionized). The pre-hook clears their sessions starting in
    the window (incremental_window_start on: a new event can merge two), and the
    run rebuilds each of their sessions that has an event in the window,
    including one that started before it and goes on into it (replaced by
    session_key). Every other user's sessions stay as they are. -#}
-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
    on_schema_change='fail',
    indexes=[{'columns': ['session_key']}, {'columns': ['session_date']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where session_date >= {{ incremental_window_start() }} and (tenant_id, user_id) in (select touched.tenant_id, touched.user_id from ({{ touched_event_keys() }}) as touched){% endif %}",
) }}

with
{% if is_incremental() %}
{{ touched_user_ctes() }}

-- the touched users' sessions with an event in the incremental window: per user an index range on
-- (tenant_id, user_id, occurred_at) of int_sessions_sessionized (event_date >= the window's start is
-- occurred_at >= its first instant)
touched_sessions as (

    select distinct
        touched_users.tenant_id,
        touched_users.user_id,
        recent_events.session_started_at
    from touched_users
    cross join lateral (
        select sessionized.session_started_at
        from {{ ref('int_sessions_sessionized') }} as sessionized
        where
            sessionized.tenant_id = touched_users.tenant_id
            and sessionized.user_id = touched_users.user_id
            and sessionized.occurred_at >= cast({{ incremental_window_start() }} as timestamp) at time zone 'UTC'
            and sessionized.session_started_at is not null
        order by sessionized.occurred_at
        -- offset 0 keeps the subquery a per-user index range: pulled up into the outer join, it
        -- becomes a merge join over the whole window
        offset 0
    ) as recent_events

),

-- each touched user's earliest touched session start: its events are read from there on
touched_user_starts as (

    select
        tenant_id,
        user_id,
        min(session_started_at) as earliest_started_at
    from touched_sessions
    group by tenant_id, user_id

),

sessionized_events as (

    -- every event of the touched sessions (sessions start at their first event): per user an index
    -- range from its earliest touched session's start
    select user_events.*
    from touched_user_starts
    cross join
        lateral (
            select sessionized.*
            from {{ ref('int_sessions_sessionized') }} as sessionized
            where
                sessionized.tenant_id = touched_user_starts.tenant_id
                and sessionized.user_id = touched_user_starts.user_id
                and sessionized.occurred_at >= touched_user_starts.earliest_started_at
            order by sessionized.occurred_at
            offset 0
        ) as user_events
    where (user_events.tenant_id, user_events.user_id, user_events.session_started_at) in (
            select
                touched_sessions.tenant_id,
                touched_sessions.user_id,
                touched_sessions.session_started_at
            from touched_sessions
        )

),
{% else %}
sessionized_events as (

    -- a full refresh reads every event
    select * from {{ ref('int_sessions_sessionized') }}

),
{% endif %}

sessions as (

    select
        tenant_id,
        user_id,
        session_started_at as started_at,
        max(occurred_at) as ended_at,
        count(*) as events,
        count(*) filter (where event_type = 'screen_view') as screens_viewed,
        count(*) filter (where event_type = 'match_created') as matches,
        count(*) filter (where event_type = 'message_sent') as messages,
        min(platform) filter (where occurred_at = session_started_at) as platform
    from sessionized_events
    where session_started_at is not null
    group by tenant_id, user_id, session_started_at

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        md5(
            tenant_id || '|' || user_id || '|'
            || to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        ) as session_key,
        cast(user_id as text) as user_id,
        cast(started_at as timestamptz) as started_at,
        cast(ended_at as timestamptz) as ended_at,
        {{ utc_date('started_at') }} as session_date,
        cast(extract(epoch from ended_at - started_at) as numeric(12, 3)) as duration_seconds,
        cast(events as integer) as events,
        cast(screens_viewed as integer) as screens_viewed,
        cast(matches as integer) as matches,
        cast(messages as integer) as messages,
        cast(platform as text) as platform
    from sessions

)

select * from final
