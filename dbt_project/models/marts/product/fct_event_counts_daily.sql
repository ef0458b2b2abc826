-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'event_date', 'event_type', 'platform'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where event_date > {{ as_of_date() }}{% endif %}",
) }}

{#- Accepted app events per tenant, UTC day, event_type and platform (docs/metrics.md
    fct_event_counts_daily), from the sessionized events (every accepted event that
    occurred by the end of the as-of date, those without a user included). events =
    events of the day; unique_users = distinct users among them (events without a
    user count in events only). A null platform is keyed '(none)' (the grain columns
    are not null; '' stays ''). Rows: every day of the tenant's covered range
    (tenant_spine) × every (event_type, platform) combination seen in the tenant's
    events by the as-of date, zeros on days without such events (as methods in
    fct_payments_daily); combinations never seen get no rows.

    Incremental (delete+insert on the grain): of the days from
    incremental_window_start on (the as-of date − var late_arrival_days, which the
    DAG widens after skipped days), a run rebuilds those a new event touches
    (touched_event_keys) and those the table does not hold yet (a day that came
    into range); every other day keeps its rows, its events unchanged. A pre-hook
    first deletes the table's rows after the as-of date, so a rerun of an earlier
    date leaves no later rows behind. A (tenant, event_type, platform) series the
    table does not hold yet (a new event type or platform) is built over the
    whole covered range, so its zero rows before the window exist as after a full
    refresh. An event that arrives later than the window is counted by the next
    full refresh (weekly): an incremental run reads only the events of the days it
    rebuilds (an index range on event_date). -#}

with

days as (

    {{ tenant_spine('day') }}

),

sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),

keyed_events as not materialized (

    -- inlined where it is used, so each use keeps its own index-friendly predicate
    select
        tenant_id,
        event_date,
        event_type,
        user_id,
        coalesce(platform, '(none)') as platform
    from sessionized_events

),

{% if is_incremental() %}
touched_events as (

    {{ touched_event_keys() }}

),

-- the window's days this run rebuilds: those a new event touches, and those not in the table yet
days_to_count as materialized (

    select
        days.tenant_id,
        days.period_start as event_date
    from days
    where
        days.period_start >= {{ incremental_window_start() }}
        and (
            exists (
                select 1
                from touched_events
                where
                    touched_events.tenant_id = days.tenant_id
                    and touched_events.event_date = days.period_start
            )
            or {{ missing_from_table({'tenant_id': 'days.tenant_id', 'event_date': 'days.period_start'}) }}
        )

),

window_events as (

    -- the events of the days to rebuild (= any(array(...)): an index scan of those days)
    select keyed_events.*
    from keyed_events
    where
        keyed_events.event_date = any(array(select distinct days_to_count.event_date from days_to_count))
        and exists (
            select 1
            from days_to_count
            where
                days_to_count.tenant_id = keyed_events.tenant_id
                and days_to_count.event_date = keyed_events.event_date
        )

),
{% else %}
window_events as (

    -- every event (a full refresh)
    select keyed_events.*
    from keyed_events
    where {{ in_incremental_window('keyed_events.event_date', 'event_date') }}

),

{% endif %}

built_combinations as (

    -- the series already in the table (none on a full refresh: every series is new)
    {%- if is_incremental() %}
    select distinct
        built.tenant_id,
        built.event_type,
        built.platform
    from {{ this }} as built
    {%- else %}
    select
        window_events.tenant_id,
        window_events.event_type,
        window_events.platform
    from window_events
    where false
    {%- endif %}

),

tenant_combinations as (

    select
        window_events.tenant_id,
        window_events.event_type,
        window_events.platform
    from window_events
    union
    select
        built_combinations.tenant_id,
        built_combinations.event_type,
        built_combinations.platform
    from built_combinations

),

new_combinations as (

    -- series first seen in the window: built over the whole covered range
    select
        tenant_combinations.tenant_id,
        tenant_combinations.event_type,
        tenant_combinations.platform
    from tenant_combinations
    left join built_combinations
        on tenant_combinations.tenant_id = built_combinations.tenant_id
        and tenant_combinations.event_type = built_combinations.event_type
        and tenant_combinations.platform = built_combinations.platform
    where {{ is_incremental() }} and built_combinations.tenant_id is null

),

day_combination_grid as (

    -- the (day, event_type, platform) rows this run builds: the days to rebuild of every
    -- series (every day on a full refresh), every day of a new series
    select
        days.tenant_id,
        days.period_start as event_date,
        tenant_combinations.event_type,
        tenant_combinations.platform
    from days
    inner join tenant_combinations
        on days.tenant_id = tenant_combinations.tenant_id
    {%- if is_incremental() %}
    where exists (
            select 1
            from days_to_count
            where
                days_to_count.tenant_id = days.tenant_id
                and days_to_count.event_date = days.period_start
        )
    {%- else %}
    where {{ in_incremental_window('days.period_start', 'event_date') }}
    {%- endif %}
    union
    select
        days.tenant_id,
        days.period_start as event_date,
        new_combinations.event_type,
        new_combinations.platform
    from days
    inner join new_combinations
        on days.tenant_id = new_combinations.tenant_id

),

events_to_count as (

    select window_events.*
    from window_events
    union all
    -- a new series' events of the other days (none on a full refresh, which reads them all above)
    select keyed_events.*
    from keyed_events
    inner join new_combinations
        on keyed_events.tenant_id = new_combinations.tenant_id
        and keyed_events.event_type = new_combinations.event_type
        and keyed_events.platform = new_combinations.platform
    where
        {%- if is_incremental() %}
        not exists (
            select 1
            from days_to_count
            where
                days_to_count.tenant_id = keyed_events.tenant_id
                and days_to_count.event_date = keyed_events.event_date
        )
        {%- else %}
        not ({{ in_incremental_window('keyed_events.event_date', 'event_date') }})
        {%- endif %}
        -- evaluated once: no new series, no scan of the older events
        and exists (
            select 1
            from new_combinations as pending
            where pending.tenant_id is not null
        )

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

    {{ spine_with_measures('day_combination_grid', 'event_date', {
        'daily_event_counts': ['events', 'unique_users'],
    }, keys=['event_type', 'platform'], spine_period_column='event_date') }}

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
