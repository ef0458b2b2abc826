{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'hour_start'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where hour_start at time zone 'UTC' >= {{ incremental_window_start() }}{% endif %}",
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

    Incremental (delete+insert on the grain): a run rebuilds the hours of the days
    from incremental_window_start on (the as-of date − var late_arrival_days, which
    the DAG widens after skipped days; a pre-hook first deletes the table's rows
    from that day on, so a rerun of an earlier date leaves no later rows behind), of
    older days whose signup count no longer matches the table's (a user who signed
    up long ago but became visible only now, users being read by updated_at: the
    users are few, so this check is cheap), and of the whole covered range of a
    tenant the table does not hold yet. An event that arrives later than the window
    is counted by the next full refresh (weekly): an incremental run reads only the
    window's events and those of the days it rebuilds.
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

),

hourly_signups as (

    select
        tenant_id,
        hour_start,
        count(*) as new_users
    from signups_to_count
    group by tenant_id, hour_start

),

-- every hour of the days rebuilt, zeros in hours without activity
joined as (

    {{ spine_with_measures('hours', 'hour_start', {
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
