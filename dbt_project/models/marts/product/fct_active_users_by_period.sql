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
    no longer matches the table's (users are few: every period is compared). -#}

with

user_days as (

    select * from {{ ref('int_user_activity_daily') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

weeks as (

    {{ tenant_spine('week') }}

),

months as (

    {{ tenant_spine('month') }}

),

quarters as (

    {{ tenant_spine('quarter') }}

),

periods as (

    select
        'week' as period_type,
        *
    from weeks
    union all
    select
        'month' as period_type,
        *
    from months
    union all
    select
        'quarter' as period_type,
        *
    from quarters

),


signups as (

    select
        periods.tenant_id,
        periods.period_type,
        periods.period_start,
        count(*) as new_users
    from periods
    inner join users
        on
        periods.tenant_id = users.tenant_id
        and {{ utc_date('users.signup_at') }} >= periods.period_start
        and {{ utc_date('users.signup_at') }} < periods.period_end
        and users.signup_at < {{ as_of_end() }}
    group by periods.tenant_id, periods.period_type, periods.period_start

),

{% if is_incremental() %}
changed_signups as (

    -- periods whose signups differ from the table's: users who became visible late
    select
        periods.tenant_id,
        periods.period_type,
        periods.period_start
    from periods
    inner join {{ this }} as built
        on
        periods.tenant_id = built.tenant_id
        and periods.period_type = built.period_type
        and periods.period_start = built.period_start
    left join signups
        on
        periods.tenant_id = signups.tenant_id
        and periods.period_type = signups.period_type
        and periods.period_start = signups.period_start
    where coalesce(signups.new_users, 0) <> built.new_users

),
{% endif %}
periods_to_build as (

    {{ periods_to_rebuild('periods', ['period_type'], 'changed_signups') }}

),

active as (

    select
        periods_to_build.tenant_id,
        periods_to_build.period_type,
        periods_to_build.period_start,
        count(distinct user_days.user_id) as active_users
    from periods_to_build
    inner join user_days
        on
        periods_to_build.tenant_id = user_days.tenant_id
        and user_days.activity_date >= periods_to_build.period_start
        and user_days.activity_date < periods_to_build.period_end
        and user_days.activity_date <= {{ as_of_date() }}
    group by periods_to_build.tenant_id, periods_to_build.period_type, periods_to_build.period_start

),

final as (

    select
        cast(periods_to_build.tenant_id as text) as tenant_id,
        cast(periods_to_build.period_type as text) as period_type,
        cast(periods_to_build.period_start as date) as period_start,
        cast(periods_to_build.period_end as date) as period_end,
        cast(coalesce(active.active_users, 0) as integer) as active_users,
        cast(coalesce(signups.new_users, 0) as integer) as new_users
    from periods_to_build
    left join active
        on
        periods_to_build.tenant_id = active.tenant_id
        and periods_to_build.period_type = active.period_type
        and periods_to_build.period_start = active.period_start
    left join signups
        on
        periods_to_build.tenant_id = signups.tenant_id
        and periods_to_build.period_type = signups.period_type
        and periods_to_build.period_start = signups.period_start

)

select * from final
