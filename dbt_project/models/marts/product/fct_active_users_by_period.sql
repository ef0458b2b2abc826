{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'period_type', 'period_start'],
    on_schema_change='fail',
    indexes=[{'columns': ['tenant_id', 'period_type', 'period_start']}],
) }}

{#- Distinct active users and signups per tenant and calendar week (Monday),
    month and quarter (docs/metrics.md "Active user": at least one accepted app event
    whose occurred_at falls in the period). Days and hours are in
    fct_daily_kpis and fct_hourly_activity; a longer period's distinct count is
    not a sum of those, so it is counted here from the user days. One row per
    period of the tenant's covered range (tenant_spine), zeros where nobody was
    active; the period holding the as-of date is partial (through the as-of
    date). period_end is exclusive.

    Incremental (delete+insert on the grain): a run rebuilds the periods
    periods_to_rebuild() names (docs/incremental.md): those ending after the
    incremental window's start (the user days int_user_activity_daily
    rebuilds), those the table does not hold yet, and those whose signup count
    no longer matches the table's (users are few: every period is compared).
    Active users are counted again only in the first two kinds (the user days of
    their days, matched to periods by equality); a period rebuilt for its signups
    alone keeps the table's count, its user days lying before the window. -#}

{%- set period_types = ['week', 'month', 'quarter'] -%}

with

user_days as (

    select * from {{ ref('int_user_activity_daily') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

periods as (

    {{ tenant_spine_by_period_type(period_types) }}

),

period_types as (

    select period_type
    from (
        values
        {%- for period_type in period_types %}
        ('{{ period_type }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as period_types (period_type)

),

signups as (

    -- each signup counted in the period holding its UTC date (an equality join: no
    -- comparison of every user with every period)
    select
        users.tenant_id,
        period_types.period_type,
        {{ truncate_to_period('period_types.period_type', utc_date('users.signup_at')) }} as period_start,
        count(*) as new_users
    from users
    cross join period_types
    where users.signup_at < {{ as_of_end() }}
    group by
        users.tenant_id,
        period_types.period_type,
        {{ truncate_to_period('period_types.period_type', utc_date('users.signup_at')) }}

),

{% if is_incremental() %}
changed_signups as (

    -- the table's periods whose signups differ from its count: users who became visible late
    select
        built.tenant_id,
        built.period_type,
        built.period_start
    from {{ this }} as built
    left join signups
        on
        built.tenant_id = signups.tenant_id
        and built.period_type = signups.period_type
        and built.period_start = signups.period_start
    where coalesce(signups.new_users, 0) <> built.new_users

),
{% endif %}
periods_to_build as (

    {{ periods_to_rebuild('periods', ['period_type'], 'changed_signups') }}

),

periods_to_count as (

    -- the periods whose active users are counted again: those of periods_to_build
    -- without the ones rebuilt only for their signups, whose user days all lie before
    -- the window and keep the table's count
    {{ periods_to_rebuild('periods', ['period_type']) }}

),

days_to_read as (

    -- the days of the periods to count (through the as-of date): a user day outside them
    -- counts in no period this run writes
    select distinct
        periods_to_count.tenant_id,
        cast(period_days.day_start as date) as activity_date
    from periods_to_count
    cross join lateral generate_series(
        cast(periods_to_count.period_start as timestamp),
        cast({{ period_last_covered_date('periods_to_count.period_end') }} as timestamp),
        interval '1 day'
    ) as period_days (day_start)

),

recent_user_days as (

    select
        user_days.tenant_id,
        user_days.user_id,
        user_days.activity_date
    from user_days
    inner join days_to_read
        on
        user_days.tenant_id = days_to_read.tenant_id
        and user_days.activity_date = days_to_read.activity_date

),

user_periods as (

    -- one row per user and period it was active in (a hash aggregate; count(distinct)
    -- would sort every user day), the period found by equality, not a range join
    {%- for period_type in period_types %}
    select distinct
        tenant_id,
        user_id,
        '{{ period_type }}' as period_type,
        {{ truncate_to_period("'" ~ period_type ~ "'", 'activity_date') }} as period_start
    from recent_user_days
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}

),

active as (

    select
        periods_to_count.tenant_id,
        periods_to_count.period_type,
        periods_to_count.period_start,
        count(user_periods.user_id) as active_users
    from periods_to_count
    left join user_periods
        on
        periods_to_count.tenant_id = user_periods.tenant_id
        and periods_to_count.period_type = user_periods.period_type
        and periods_to_count.period_start = user_periods.period_start
    group by periods_to_count.tenant_id, periods_to_count.period_type, periods_to_count.period_start

),

kept_active as (

    -- the table's active users of the periods not counted again (none on a full refresh)
    {%- if is_incremental() %}
    select
        built.tenant_id,
        built.period_type,
        built.period_start,
        built.active_users
    from {{ this }} as built
    {%- else %}
    select
        active.tenant_id,
        active.period_type,
        active.period_start,
        active.active_users
    from active
    where false
    {%- endif %}

),

final as (

    select
        cast(periods_to_build.tenant_id as text) as tenant_id,
        cast(periods_to_build.period_type as text) as period_type,
        cast(periods_to_build.period_start as date) as period_start,
        cast(periods_to_build.period_end as date) as period_end,
        cast(coalesce(active.active_users, kept_active.active_users) as integer) as active_users,
        cast(coalesce(signups.new_users, 0) as integer) as new_users
    from periods_to_build
    left join active
        on
        periods_to_build.tenant_id = active.tenant_id
        and periods_to_build.period_type = active.period_type
        and periods_to_build.period_start = active.period_start
    left join kept_active
        on
        periods_to_build.tenant_id = kept_active.tenant_id
        and periods_to_build.period_type = kept_active.period_type
        and periods_to_build.period_start = kept_active.period_start
    left join signups
        on
        periods_to_build.tenant_id = signups.tenant_id
        and periods_to_build.period_type = signups.period_type
        and periods_to_build.period_start = signups.period_start

)

select * from final
