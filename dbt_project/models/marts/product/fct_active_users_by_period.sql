{{ config(
    indexes=[{'columns': ['tenant_id', 'period_type', 'period_start']}],
) }}

{#- Distinct active users and signups per tenant and calendar week (Monday),
    month and quarter (METRICS.md "Active user": at least one accepted app event
    whose occurred_at falls in the period). Days and hours are in
    fct_daily_kpis and fct_hourly_activity; a longer period's distinct count is
    not a sum of those, so it is counted here from the user days. One row per
    period of the tenant's covered range (tenant_spine), zeros where nobody was
    active; the period holding the as-of date is partial (through the as-of
    date). period_end is exclusive. -#}

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

active as (

    select
        periods.tenant_id,
        periods.period_type,
        periods.period_start,
        count(distinct user_days.user_id) as active_users
    from periods
    inner join user_days
        on
        periods.tenant_id = user_days.tenant_id
        and user_days.activity_date >= periods.period_start
        and user_days.activity_date < periods.period_end
        and user_days.activity_date <= {{ as_of_date() }}
    group by periods.tenant_id, periods.period_type, periods.period_start

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

final as (

    select
        cast(periods.tenant_id as text) as tenant_id,
        cast(periods.period_type as text) as period_type,
        cast(periods.period_start as date) as period_start,
        cast(periods.period_end as date) as period_end,
        cast(coalesce(active.active_users, 0) as integer) as active_users,
        cast(coalesce(signups.new_users, 0) as integer) as new_users
    from periods
    left join active
        on
        periods.tenant_id = active.tenant_id
        and periods.period_type = active.period_type
        and periods.period_start = active.period_start
    left join signups
        on
        periods.tenant_id = signups.tenant_id
        and periods.period_type = signups.period_type
        and periods.period_start = signups.period_start

)

select * from final
