{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'event_date', 'event_type', 'platform'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where event_date >= {{ incremental_window_start() }}{% endif %}",
) }}

{#- Accepted app events per tenant, UTC day, event_type and platform (METRICS.md
    fct_event_counts_daily), from the sessionized events (every accepted event that
    occurred by the end of the as-of date, those without a user included). events =
    events of the day; unique_users = distinct users among them (events without a
    user count in events only). A null platform is keyed '(none)' (the grain columns
    are not null; '' stays ''). Rows: every day of the tenant's covered range
    (tenant_spine) × every (event_type, platform) combination seen in the tenant's
    events by the as-of date, zeros on days without such events (as methods in
    fct_payments_daily); combinations never seen get no rows.

    Incremental (delete+insert on the grain): a run rebuilds the days from
    incremental_window_start on (the as-of date − var late_arrival_days, which the
    DAG widens after skipped days); a pre-hook first deletes the table's rows from
    that day on, so a rerun of an earlier date leaves no later rows behind. A
    (tenant, event_type, platform) series the table does not hold yet (a new event
    type or platform) is built over the whole covered range, so its zero rows
    before the window exist as after a full refresh. An older day whose event count
    no longer matches the table's (an event that arrived later than the window) is
    rebuilt too: counting the events per day is cheap next to the distinct users
    per type and platform. -#}

with

days as (

    {{ tenant_spine('day') }}

),

sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),

keyed_events as (

    select
        tenant_id,
        event_date,
        event_type,
        user_id,
        coalesce(platform, '(none)') as platform
    from sessionized_events

),

tenant_combinations as (

    select distinct
        tenant_id,
        event_type,
        platform
    from keyed_events

),

daily_totals as (

    select
        tenant_id,
        event_date,
        count(*) as events
    from keyed_events
    group by tenant_id, event_date

),

built_combinations as (

    -- the series already in the table (none on a full refresh: every series is new)
    {%- if is_incremental() %}
    select distinct
        tenant_id,
        event_type,
        platform
    from {{ this }}
    {%- else %}
    select
        tenant_id,
        event_type,
        platform
    from tenant_combinations
    where false
    {%- endif %}

),

built_daily_totals as (

    -- the table's events per day (none on a full refresh)
    {%- if is_incremental() %}
    select
        tenant_id,
        event_date,
        sum(events) as events
    from {{ this }}
    group by tenant_id, event_date
    {%- else %}
    select
        tenant_id,
        event_date,
        events
    from daily_totals
    where false
    {%- endif %}

),

changed_days as (

    -- days whose event count differs from the table's: events that arrived after
    -- their day was last built, later than the window (every day on a full refresh)
    select
        coalesce(daily_totals.tenant_id, built_daily_totals.tenant_id) as tenant_id,
        coalesce(daily_totals.event_date, built_daily_totals.event_date) as changed_date
    from daily_totals
    full outer join built_daily_totals
        on daily_totals.tenant_id = built_daily_totals.tenant_id
        and daily_totals.event_date = built_daily_totals.event_date
    where coalesce(daily_totals.events, 0) <> coalesce(built_daily_totals.events, 0)

),

combinations_flagged as (

    select
        tenant_combinations.tenant_id,
        tenant_combinations.event_type,
        tenant_combinations.platform,
        built_combinations.tenant_id is null as is_new_series
    from tenant_combinations
    left join built_combinations
        on tenant_combinations.tenant_id = built_combinations.tenant_id
        and tenant_combinations.event_type = built_combinations.event_type
        and tenant_combinations.platform = built_combinations.platform

),

day_combination_grid as (

    -- the (day, event_type, platform) rows this run builds
    select
        days.tenant_id,
        days.period_start as event_date,
        combinations_flagged.event_type,
        combinations_flagged.platform
    from days
    inner join combinations_flagged
        on days.tenant_id = combinations_flagged.tenant_id
    left join changed_days
        on days.tenant_id = changed_days.tenant_id
        and days.period_start = changed_days.changed_date
    where {{ in_incremental_window('days.period_start', 'event_date') }}
        or combinations_flagged.is_new_series
        or changed_days.changed_date is not null

),

events_to_count as (

    select keyed_events.*
    from keyed_events
    inner join day_combination_grid
        on keyed_events.tenant_id = day_combination_grid.tenant_id
        and keyed_events.event_date = day_combination_grid.event_date
        and keyed_events.event_type = day_combination_grid.event_type
        and keyed_events.platform = day_combination_grid.platform

),

daily_event_counts as (

    select
        tenant_id,
        event_date,
        event_type,
        platform,
        count(*) as events,
        count(distinct user_id) as unique_users
    from events_to_count
    group by tenant_id, event_date, event_type, platform

),

joined as (

    select
        day_combination_grid.tenant_id,
        day_combination_grid.event_date,
        day_combination_grid.event_type,
        day_combination_grid.platform,
        coalesce(daily_event_counts.events, 0) as events,
        coalesce(daily_event_counts.unique_users, 0) as unique_users
    from day_combination_grid
    left join daily_event_counts
        on day_combination_grid.tenant_id = daily_event_counts.tenant_id
        and day_combination_grid.event_date = daily_event_counts.event_date
        and day_combination_grid.event_type = daily_event_counts.event_type
        and day_combination_grid.platform = daily_event_counts.platform

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(event_date as date) as event_date,
        cast(event_type as text) as event_type,
        cast(platform as text) as platform,
        cast(events as integer) as events,
        cast(unique_users as integer) as unique_users
    from joined

)

select * from final
