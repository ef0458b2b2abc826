-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_id',
    on_schema_change='fail',
    indexes=[
        {'columns': ['event_id']},
        {'columns': ['event_date']},
        {'columns': ['occurred_at']},
        {'columns': ['tenant_id', 'user_id', 'occurred_at']},
    ],
    pre_hook="set local work_mem = '256MB'",
) }}

{#- Sessionization (docs/metrics.md "Session"): a session is a maximal run of one user's
    events with no gap over var('session_gap_minutes') (30) minutes. One row per
    accepted app event that occurred by the end of the as-of date, carrying the
    start of the session it belongs to; events without a user_id are kept (they
    count in event totals) but belong to no session (session_started_at null).

    Departs from "one row per session" on purpose: the event-level table is read by
    the session mart, the daily activity model and the business events, so the
    staging events are scanned and sorted once (the pre-hook gives that one sort
    enough memory to stay off disk). A session is identified by (tenant_id, user_id,
    session_started_at); fct_sessions turns that into its md5 session_key. Events of
    a user at the same instant are one block: which of them carries
    is_session_start is arbitrary, nothing else depends on their order.

    Incremental (delete+insert on event_id): a run sessionizes again only the
    users a new event touches (touched_event_keys: the rows base_app__events
    added since the last successful build, and the events that came into range
    since its instant), each over its events from incremental_window_start on,
    continuing the session of its last event before the window as the table
    holds it. Those window events are read from the table itself (per user an
    index range) and the new events from staging by id: an event of the window
    is either in the last successful build or touched. A new event can join,
    split or extend only its user's sessions;
    every other user's rows stay as they are. Of a touched user's held events
    only those whose is_session_start or session_started_at changed are
    written again, with the new events (a day's run rewrote every touched
    user's window, twice the rows it changes). New events without a user are
    added (they belong to no session). An event older than the window waits for
    the weekly full refresh. -#}

{%- set window_start -%}cast({{ incremental_window_start() }} as timestamp) at time zone 'UTC'{%- endset %}

with

{% if is_incremental() %}
-- the users a new event touches (window_users): only their window is sessionized again
{{ touched_user_ctes(name='window_users') }}

-- the touched users' window events and the new events without a user (events_in_range bounds them
-- to the window): those the table already holds, per user an index range on (tenant_id, user_id,
-- occurred_at), and the new ones (touched_event_keys) by id. Every other staging event of a touched
-- user in the window was in the last successful build: its row is in the table (events are
-- append-only, and an event added or come into range since is a touched one)
held_events as materialized (

    select held.*
    from window_users
    cross join
        lateral (
            select
                sessionized.event_id,
                sessionized.tenant_id,
                sessionized.user_id,
                sessionized.event_type,
                sessionized.platform,
                sessionized.occurred_at,
                sessionized.is_session_start,
                sessionized.session_started_at
            from {{ this }} as sessionized
            where
                sessionized.tenant_id = window_users.tenant_id
                and sessionized.user_id = window_users.user_id
                and sessionized.occurred_at >= {{ window_start }}
            order by sessionized.occurred_at
            -- offset 0 keeps the subquery a per-user index range: pulled up into the outer join, it
            -- becomes a merge join over the whole window
            offset 0
        ) as held

),

events as (

    select
        held_events.event_id as id,
        held_events.tenant_id,
        held_events.user_id,
        held_events.event_type,
        held_events.platform,
        held_events.occurred_at
    from held_events

    union

    select
        stg_events.id,
        stg_events.tenant_id,
        stg_events.user_id,
        stg_events.event_type,
        stg_events.platform,
        stg_events.occurred_at
    from {{ ref('stg_app__events') }} as stg_events
    -- = any(array(...)): an index scan of the new events' ids
    where stg_events.id = any(array(select touched_events.event_id from touched_events))

),
{% else %}
events as (

    select * from {{ ref('stg_app__events') }}

),
{% endif %}

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
    where
        occurred_at < {{ as_of_end() }}
        {%- if is_incremental() %}
        and occurred_at >= {{ window_start }}
        {%- endif %}

),
{% if is_incremental() %}
-- each window user's last event before the window, as the table holds it
context_events as (

    select
        window_users.tenant_id,
        window_users.user_id,
        earlier.occurred_at,
        earlier.session_started_at
    from window_users
    cross join lateral (
        select
            sessionized.occurred_at,
            sessionized.session_started_at
        from {{ this }} as sessionized
        where
            sessionized.tenant_id = window_users.tenant_id
            and sessionized.user_id = window_users.user_id
            and sessionized.occurred_at < {{ window_start }}
        order by sessionized.occurred_at desc
        limit 1
    ) as earlier

),
{% endif %}
timeline as (

    select
        *,
        false as is_context,
        cast(null as timestamptz) as context_session_started_at
    from events_in_range
    {%- if is_incremental() %}

    union all

    select
        null as event_id,
        tenant_id,
        user_id,
        null as event_type,
        null as platform,
        occurred_at,
        true as is_context,
        session_started_at as context_session_started_at
    from context_events
    {%- endif %}

),

events_with_previous as (

    -- events without a user share one partition per tenant; their flags are dropped below
    select
        *,
        lag(occurred_at) over user_timeline as previous_occurred_at
    from timeline
    window user_timeline as (partition by tenant_id, user_id order by occurred_at)

),

session_starts_flagged as (

    select
        *,
        (
            previous_occurred_at is null
            or occurred_at - previous_occurred_at > interval '1 minute' * {{ var('session_gap_minutes') }}
        ) as is_gap_before
    from events_with_previous

),

session_starts_carried as (

    -- start times only grow along a user's timeline, so the running max of the
    -- start flags' times is the start of the session the event is in
    select
        *,
        -- the default (range) frame includes events at the same instant, so every
        -- event of a tied block sees the block's start flag whatever their order
        max(
            case
                when is_context then context_session_started_at
                when is_gap_before then occurred_at
            end
        ) over (
            partition by tenant_id, user_id
            order by occurred_at
        ) as carried_session_start
    from session_starts_flagged

),

final as (

    select
        event_id,
        tenant_id,
        user_id,
        event_type,
        platform,
        occurred_at,
        {{ utc_date('occurred_at') }} as event_date,
        user_id is not null and is_gap_before as is_session_start,
        case when user_id is not null then carried_session_start end as session_started_at
    from session_starts_carried
    where not is_context

)

{% if is_incremental() %}
-- only the rows that are new or whose session changed: a held event whose flags are the table's
-- is left as it is (most of a touched user's window), so the delete+insert writes the new events
-- and the sessions they join, split or extend
select final.*
from final
left join held_events
    on final.event_id = held_events.event_id
where
    held_events.event_id is null
    or (final.is_session_start, final.session_started_at)
    is distinct from (held_events.is_session_start, held_events.session_started_at)
{% else %}
select * from final
{%- endif %}
{%- if not is_incremental() %}
-- stored in day order: every later run reads a few days of this table (event_date index ranges),
-- and a day's rows kept together are a few pages instead of a page from every day of the history
order by event_date
{%- endif %}
