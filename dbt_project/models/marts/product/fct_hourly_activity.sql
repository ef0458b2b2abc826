-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'hour_start'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where hour_start >= {{ as_of_end() }}{% endif %}",
) }}

{#- Product activity per tenant and UTC hour (docs/metrics.md fct_hourly_activity).
    hour_start is the hour's first instant (timestamptz). From the sessionized events
    (int_sessions_sessionized, the one session definition): active_users = distinct
    users with an event in the hour; events and messages (`message_sent`) count
    every event of the hour, those without a user included (as in fct_daily_kpis);
    sessions_started = sessions whose first event is in the hour (a session belongs
    to the hour it starts). new_users = users whose signup_at is in the hour. One row
    per hour of every day of the tenant's covered range (tenant_spine), 24 per day,
    zeros in hours without activity.

    Incremental (delete+insert on the grain): of the hours of the days from
    incremental_window_start on (the as-of date − var late_arrival_days, which the
    DAG widens after skipped days), a run rebuilds only those a new event touches
    (touched_event_keys: its own hour, and the hour of its user's next event,
    whose session-start flag it can change: looked up for the last new event of
    each user and hour only, the others' next events lying in that hour), those
    the table does not hold yet (hours that came into range since the last
    build, a new tenant's whole covered range) and the hours of older days whose signup count no longer
    matches the table's (a user who signed up long ago but became visible only
    now, users being read by updated_at: the users are few, so this check is
    cheap). Each hour with new events, new to the table or of a new tenant reads
    its events by an index range on occurred_at (is_recounted); an hour rebuilt
    for its day's signups alone keeps the table's event measures (no new event
    touched it) and counts its new users again: at 10 M events a day's run finds
    ~25 such days per tenant, whose events it used to read again. Every other
    hour keeps its row, its events unchanged. A pre-hook first
    deletes the table's hours from the as-of instant on, so a rerun of an earlier
    instant leaves no later rows behind. An event that arrives later than the
    window is counted by the next full refresh (weekly).
    -#}

with

sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

signups as (

    select
        tenant_id,
        signup_at
    from users
    where signup_at < {{ as_of_end() }}

),

daily_totals as (

    -- signups per day (users are few: every day is compared with the table)
    select
        tenant_id,
        {{ utc_date('signup_at') }} as activity_date,
        count(*) as new_users
    from signups
    group by tenant_id, {{ utc_date('signup_at') }}

),

built_daily_totals as (

    -- the table's new users per day (none on a full refresh)
    {%- if is_incremental() %}
    select
        built.tenant_id,
        {{ utc_date('built.hour_start') }} as activity_date,
        sum(built.new_users) as new_users
    from {{ this }} as built
    group by built.tenant_id, {{ utc_date('built.hour_start') }}
    {%- else %}
    select
        daily_totals.tenant_id,
        daily_totals.activity_date,
        daily_totals.new_users
    from daily_totals
    where false
    {%- endif %}

),

changed_days as (

    -- days whose signup count differs from the table's: users who became visible late
    -- (every day with signups on a full refresh)
    select
        coalesce(daily_totals.tenant_id, built_daily_totals.tenant_id) as tenant_id,
        coalesce(daily_totals.activity_date, built_daily_totals.activity_date) as changed_date
    from daily_totals
    full outer join built_daily_totals
        on daily_totals.tenant_id = built_daily_totals.tenant_id
        and daily_totals.activity_date = built_daily_totals.activity_date
    where coalesce(daily_totals.new_users, 0) <> coalesce(built_daily_totals.new_users, 0)

),

-- the day spine, the tenants new to the table, the days this run rebuilds and their hours
{{ hourly_rebuild_scaffold() }}

{% if is_incremental() %}
touched_events as (

    {{ touched_event_keys() }}

),

-- the last new event of each user in each hour it touches: an earlier new event of that user and
-- hour is followed by an event of the same hour (at the latest that last one), whose hour is
-- touched anyway, so only the last one's next event can lie in another hour (a day's run has
-- about a quarter as many of these as new events)
touched_user_hours as (

    select
        touched_events.tenant_id,
        touched_events.user_id,
        touched_events.hour_start,
        max(touched_events.occurred_at) as last_occurred_at
    from touched_events
    where touched_events.user_id is not null
    group by touched_events.tenant_id, touched_events.user_id, touched_events.hour_start

),

-- the hours a new event changes: its own, and that of its user's next event (the gap before
-- that event is now measured from the new one: its session-start flag may change), found per
-- user and touched hour by an index range on (tenant_id, user_id, occurred_at)
touched_hours as (

    select
        touched_events.tenant_id,
        touched_events.hour_start
    from touched_events

    union

    select
        touched_user_hours.tenant_id,
        {{ utc_hour_start('next_event.occurred_at') }} as hour_start
    from touched_user_hours
    cross join lateral (
        select later.occurred_at
        from {{ ref('int_sessions_sessionized') }} as later
        where
            later.tenant_id = touched_user_hours.tenant_id
            and later.user_id = touched_user_hours.user_id
            and later.occurred_at > touched_user_hours.last_occurred_at
        order by later.occurred_at
        limit 1
    ) as next_event

),

-- the hours this run rebuilds: touched, of a new tenant or not in the table yet (their events are
-- counted: is_recounted), or of a day whose signups changed (only their new users change: the
-- table's event measures are kept)
hours_to_build as (

    select *
    from (
        select
            hours.*,
            (
                tenants_flagged.is_new_series
                or exists (
                    select 1
                    from touched_hours
                    where
                        touched_hours.tenant_id = hours.tenant_id
                        and touched_hours.hour_start = hours.hour_start
                )
                or {{ missing_from_table({
                    'tenant_id': 'hours.tenant_id', 'hour_start': 'hours.hour_start',
                }) | indent(16) }}
            ) as is_recounted,
            changed_days.changed_date is not null as is_signup_day
        from hours
        inner join tenants_flagged
            on hours.tenant_id = tenants_flagged.tenant_id
        -- changed_days holds a tenant's day once
        left join changed_days
            on hours.tenant_id = changed_days.tenant_id
            and {{ utc_date('hours.hour_start') }} = changed_days.changed_date
    ) as flagged_hours
    where is_recounted or is_signup_day

),

events_to_count as (

    -- per hour to build an index range on occurred_at
    select
        sessionized_events.tenant_id,
        sessionized_events.user_id,
        sessionized_events.event_type,
        sessionized_events.is_session_start,
        rebuilt_hours.hour_start
    from (
        select distinct hours_to_build.hour_start
        from hours_to_build
        where hours_to_build.is_recounted
    ) as rebuilt_hours
    cross join
        lateral (
            select hour_events.*
            from sessionized_events as hour_events
            where
                hour_events.occurred_at >= rebuilt_hours.hour_start
                and hour_events.occurred_at < rebuilt_hours.hour_start + interval '1 hour'
            order by hour_events.occurred_at
            -- offset 0 keeps the subquery a per-hour index range: pulled up into the outer join, it
            -- becomes a merge join over every event
            offset 0
        ) as sessionized_events
    where exists (
            select 1
            from hours_to_build
            where
                hours_to_build.tenant_id = sessionized_events.tenant_id
                and hours_to_build.hour_start = rebuilt_hours.hour_start
                and hours_to_build.is_recounted
        )

),

-- the event measures of the hours rebuilt for their signups alone: their events are the ones the
-- table counted
kept_hourly_events as (

    select
        built.tenant_id,
        built.hour_start,
        built.active_users,
        built.events,
        built.sessions_started,
        built.messages
    from {{ this }} as built
    inner join hours_to_build
        on built.tenant_id = hours_to_build.tenant_id
        and built.hour_start = hours_to_build.hour_start
    where not hours_to_build.is_recounted

),
{% else %}
hours_to_build as (

    select * from hours

),

events_to_count as (

    select
        sessionized_events.tenant_id,
        sessionized_events.user_id,
        sessionized_events.event_type,
        sessionized_events.is_session_start,
        {{ utc_hour_start('sessionized_events.occurred_at') }} as hour_start
    from sessionized_events
    inner join days_to_build
        on sessionized_events.tenant_id = days_to_build.tenant_id
        and sessionized_events.event_date = days_to_build.period_start
    -- = any(array(...)): an index scan of the days to build, not of every event
    where sessionized_events.event_date = any(array(select distinct rebuilt.period_start from days_to_build as rebuilt))

),

{% endif %}

signups_to_count as (

    select
        signups.tenant_id,
        {{ utc_hour_start('signups.signup_at') }} as hour_start
    from signups
    inner join days_to_build
        on signups.tenant_id = days_to_build.tenant_id
        and {{ utc_date('signups.signup_at') }} = days_to_build.period_start

),

hourly_events as (

    select
        tenant_id,
        hour_start,
        count(distinct user_id) as active_users,
        count(*) as events,
        count(*) filter (where is_session_start) as sessions_started,
        count(*) filter (where event_type = 'message_sent') as messages
    from events_to_count
    group by tenant_id, hour_start
    {%- if is_incremental() %}

    union all

    select
        tenant_id,
        hour_start,
        active_users,
        events,
        sessions_started,
        messages
    from kept_hourly_events
    {%- endif %}

),

hourly_signups as (

    select
        tenant_id,
        hour_start,
        count(*) as new_users
    from signups_to_count
    group by tenant_id, hour_start

),

-- every hour rebuilt, zeros in hours without activity
joined as (

    {{ spine_with_measures('hours_to_build', 'hour_start', {
        'hourly_events': ['active_users', 'events', 'sessions_started', 'messages'],
        'hourly_signups': ['new_users'],
    }, spine_period_column='hour_start') }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(hour_start as timestamptz) as hour_start,
        cast(active_users as integer) as active_users,
        cast(events as integer) as events,
        cast(sessions_started as integer) as sessions_started,
        cast(new_users as integer) as new_users,
        cast(messages as integer) as messages
    from joined

)

select * from final
