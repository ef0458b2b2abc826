-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'user_id', 'activity_date'],
    on_schema_change='fail',
    indexes=[{'columns': ['tenant_id', 'user_id', 'activity_date']}, {'columns': ['activity_date']}],
) }}

{#- Active users (docs/metrics.md "Active user"): one row per user and UTC day with at
    least one accepted app event with that user_id. Carries the day's event counts,
    the sessions that started that day, and the user's previous and next active
    days (for rolling distinct-user windows without range joins).

    Incremental: a run rebuilds, for each user a new event touches
    (touched_event_keys: the rows base_app__events added since the last
    successful build, and the events that came into range since its instant),
    the user's days from incremental_window_start on, and rewrites the user's
    last active day before the window (its next_activity_date may now point
    into the window); that row keeps its counts and previous_activity_date from
    the table. Only a touched user's events and session starts change
    (int_sessions_sessionized), so every other user's days stay as they are. -#}

with

{% if is_incremental() %}
{{ touched_user_ctes(name='window_users') }}

-- the touched users' events of the window: per user an index range on (tenant_id, user_id,
-- occurred_at) of int_sessions_sessionized (event_date >= the window's start is occurred_at >= its
-- first instant)
sessionized_events as (

    select user_events.*
    from window_users
    cross join lateral (
        select events.*
        from {{ ref('int_sessions_sessionized') }} as events
        where
            events.tenant_id = window_users.tenant_id
            and events.user_id = window_users.user_id
            and events.occurred_at >= cast({{ incremental_window_start() }} as timestamp) at time zone 'UTC'
        order by events.occurred_at
        -- offset 0 keeps the subquery a per-user index range: pulled up into the outer join, it
        -- becomes a merge join over the whole window
        offset 0
    ) as user_events

),
{% else %}
sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),
{% endif %}

user_days as (

    select
        tenant_id,
        user_id,
        event_date as activity_date,
        count(*) as events,
        count(*) filter (where is_session_start) as sessions_started,
        count(*) filter (where event_type = 'screen_view') as screens_viewed,
        count(*) filter (where event_type = 'match_created') as matches,
        count(*) filter (where event_type = 'message_sent') as messages,
        false as is_context,
        cast(null as date) as context_previous_activity_date
    from sessionized_events
    where
        user_id is not null
        and {{ in_incremental_window('event_date') }}
    group by tenant_id, user_id, event_date

),
{% if is_incremental() %}
-- each window user's last active day before the window, as the table holds it
context_days as (

    select
        window_users.tenant_id,
        window_users.user_id,
        earlier.activity_date,
        earlier.events,
        earlier.sessions_started,
        earlier.screens_viewed,
        earlier.matches,
        earlier.messages,
        true as is_context,
        earlier.previous_activity_date as context_previous_activity_date
    from window_users
    cross join lateral (
        select activity_days.*
        from {{ this }} as activity_days
        where
            activity_days.tenant_id = window_users.tenant_id
            and activity_days.user_id = window_users.user_id
            and activity_days.activity_date < {{ incremental_window_start() }}
        order by activity_days.activity_date desc
        limit 1
    ) as earlier

),
{% endif %}
all_days as (

    select * from user_days
    {%- if is_incremental() %}
    union all
    select * from context_days
    {%- endif %}

),

final as (

    select
        tenant_id,
        user_id,
        activity_date,
        events,
        sessions_started,
        screens_viewed,
        matches,
        messages,
        case
            when is_context then context_previous_activity_date
            else lag(activity_date) over user_days_in_order
        end as previous_activity_date,
        lead(activity_date) over user_days_in_order as next_activity_date
    from all_days
    window user_days_in_order as (partition by tenant_id, user_id order by activity_date)

)

select * from final
