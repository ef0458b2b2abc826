{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'cohort_grain', 'cohort_start', 'period_number'],
    on_schema_change='fail',
) }}

{#- Signup cohorts by week and by month (docs/metrics.md fct_retention_cohorts). One row
    per tenant, cohort_grain, cohort_start of the tenant's covered range (tenant_spine,
    so cohorts with no signups are rows with cohort_size 0) and period_number
    0 .. var('cohort_periods') whose period has started by the as-of date.
    avg_matches_per_user counts the cohort users' `match_created` events in period n
    (int_user_activity_daily.matches) per cohort user. Period n
    of a week cohort is the week cohort_start + 7n days, of a month cohort the month
    cohort_start + n months (periods_between). Activity, sessions and payments
    before the cohort start (n < 0) count nowhere; paid conversion before it counts
    from period 0. Per-user averages and rates are null when cohort_size is 0.

    Incremental (delete+insert on the grain): the cohort sizes, revenue and paid
    conversions are small (users and payments) and computed for every cohort
    period; the user days are what grows with history, and only the rows
    periods_to_rebuild() names read them (docs/incremental.md): cohort periods
    ending after the incremental window's start (their user days are the ones
    int_user_activity_daily rebuilds), those the table does not hold yet (a
    period that started, a new cohort or tenant), and those whose size, revenue,
    cumulative revenue or paid conversion no longer matches the table's (a user
    or payment that became visible late: the whole cohort's rows differ in size).
    Each period to build reads its cohort users' days within its dates.
    Every other row keeps its activity: its user days lie before the window, and
    its users are the same (a cohort's users only grow, which changes its size). -#}

with

signups as (

    select * from {{ ref('int_users_signed_up') }}

),

user_activity as (

    select * from {{ ref('int_user_activity_daily') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

cohort_spine as (

    {{ tenant_spine_by_period_type(['week', 'month']) }}

),

cohorts as (

    select
        tenant_id,
        period_type as cohort_grain,
        period_start as cohort_start
    from cohort_spine

),

period_numbers as (

    select period_number
    from generate_series(0, {{ var('cohort_periods') }}) as periods (period_number)

),

cohort_periods as (

    select
        cohorts.tenant_id,
        cohorts.cohort_grain,
        cohorts.cohort_start,
        period_numbers.period_number,
        case cohorts.cohort_grain
            when 'week' then cohorts.cohort_start + 7 * period_numbers.period_number
            else cast(cohorts.cohort_start + period_numbers.period_number * interval '1 month' as date)
        end as period_start,
        case cohorts.cohort_grain
            when 'week' then cohorts.cohort_start + 7 * (period_numbers.period_number + 1)
            else cast(cohorts.cohort_start + (period_numbers.period_number + 1) * interval '1 month' as date)
        end as period_end
    from cohorts
    cross join period_numbers

),

started_cohort_periods as (

    select * from cohort_periods
    where period_start <= {{ as_of_date() }}

),

cohort_users as (

    select
        signups.tenant_id,
        grains.cohort_grain,
        {{ truncate_to_period('grains.cohort_grain', 'signups.signup_date') }} as cohort_start,
        signups.user_id,
        signups.first_paid_date
    from signups
    cross join (values ('week'), ('month')) as grains (cohort_grain)

),

cohort_sizes as (

    select
        tenant_id,
        cohort_grain,
        cohort_start,
        count(*) as cohort_size
    from cohort_users
    group by tenant_id, cohort_grain, cohort_start

),

period_revenue as (

    select
        cohort_users.tenant_id,
        cohort_users.cohort_grain,
        cohort_users.cohort_start,
        {{ periods_between(
            'cohort_users.cohort_grain', 'cohort_users.cohort_start', 'payment_attempts.succeeded_date'
        ) }} as period_number,
        sum(payment_attempts.amount_cents) as revenue_cents
    from cohort_users
    inner join payment_attempts
        on cohort_users.tenant_id = payment_attempts.tenant_id
        and cohort_users.user_id = payment_attempts.user_id
        and payment_attempts.is_succeeded
        and payment_attempts.succeeded_date >= cohort_users.cohort_start
    -- grouped by position: period_number is a macro expression
    group by 1, 2, 3, 4  -- noqa: AM06

),

period_conversions as (

    -- users whose MRR first went > 0 in period n (before the cohort start: period 0)
    select
        tenant_id,
        cohort_grain,
        cohort_start,
        greatest(
            {{ periods_between('cohort_grain', 'cohort_start', 'first_paid_date') }},
            0
        ) as period_number,
        count(*) as converted_users
    from cohort_users
    where first_paid_date is not null
    -- grouped by position: period_number is a macro expression
    group by 1, 2, 3, 4  -- noqa: AM06

),

small_measures as (

    -- every started cohort period's measures from users and payments (small inputs)
    select
        started_cohort_periods.tenant_id,
        started_cohort_periods.cohort_grain,
        started_cohort_periods.cohort_start,
        started_cohort_periods.period_number,
        started_cohort_periods.period_start,
        started_cohort_periods.period_end,
        coalesce(cohort_sizes.cohort_size, 0) as cohort_size,
        coalesce(period_revenue.revenue_cents, 0) as revenue_cents,
        sum(coalesce(period_revenue.revenue_cents, 0)) over cohort_periods_to_date as cumulative_revenue_cents,
        sum(coalesce(period_conversions.converted_users, 0)) over cohort_periods_to_date as converted_users
    from started_cohort_periods
    left join cohort_sizes
        on started_cohort_periods.tenant_id = cohort_sizes.tenant_id
        and started_cohort_periods.cohort_grain = cohort_sizes.cohort_grain
        and started_cohort_periods.cohort_start = cohort_sizes.cohort_start
    left join period_revenue
        on started_cohort_periods.tenant_id = period_revenue.tenant_id
        and started_cohort_periods.cohort_grain = period_revenue.cohort_grain
        and started_cohort_periods.cohort_start = period_revenue.cohort_start
        and started_cohort_periods.period_number = period_revenue.period_number
    left join period_conversions
        on started_cohort_periods.tenant_id = period_conversions.tenant_id
        and started_cohort_periods.cohort_grain = period_conversions.cohort_grain
        and started_cohort_periods.cohort_start = period_conversions.cohort_start
        and started_cohort_periods.period_number = period_conversions.period_number
    window cohort_periods_to_date as (
        partition by
            started_cohort_periods.tenant_id,
            started_cohort_periods.cohort_grain,
            started_cohort_periods.cohort_start
        order by started_cohort_periods.period_number
        rows between unbounded preceding and current row
    )

),

{% if is_incremental() %}
changed_small_measures as (

    -- rows whose size, revenue or paid conversion differ from the table's, compared as
    -- the table stores them
    select
        small_measures.tenant_id,
        small_measures.cohort_grain,
        small_measures.cohort_start,
        small_measures.period_start
    from small_measures
    inner join {{ this }} as built
        on small_measures.tenant_id = built.tenant_id
        and small_measures.cohort_grain = built.cohort_grain
        and small_measures.cohort_start = built.cohort_start
        and small_measures.period_number = built.period_number
    where (
        cast(small_measures.cohort_size as integer),
        {{ cents_to_money('small_measures.revenue_cents') }},
        {{ cents_to_money(
            'small_measures.cumulative_revenue_cents / nullif(cast(small_measures.cohort_size as numeric), 0)'
        ) }},
        {{ safe_rate('small_measures.converted_users', 'small_measures.cohort_size') }},
        small_measures.period_start
    ) is distinct from (
        built.cohort_size,
        built.revenue,
        built.cumulative_revenue_per_user,
        built.paid_conversion_rate,
        built.period_start
    )

),
{% endif %}
periods_to_build as (

    {{ periods_to_rebuild('small_measures', ['cohort_grain', 'cohort_start'], 'changed_small_measures') }}

),

user_activity_periods as (

    -- each cohort user's sessions and matches per period. Incremental: the periods to build
    -- only, their days matched by date range (a few periods: no period number computed for
    -- every user day). Full refresh: every user day, in the period its number names.
    select
        cohort_users.tenant_id,
        cohort_users.cohort_grain,
        cohort_users.cohort_start,
        {%- if is_incremental() %}
        periods_to_build.period_number,
        {%- else %}
        {{ periods_between(
            'cohort_users.cohort_grain', 'cohort_users.cohort_start', 'user_activity.activity_date'
        ) }} as period_number,
        {%- endif %}
        cohort_users.user_id,
        sum(user_activity.sessions_started) as sessions_started,
        sum(user_activity.matches) as matches
    from cohort_users
    inner join user_activity
        on cohort_users.tenant_id = user_activity.tenant_id
        and cohort_users.user_id = user_activity.user_id
        and user_activity.activity_date >= cohort_users.cohort_start
    {%- if is_incremental() %}
    inner join periods_to_build
        on cohort_users.tenant_id = periods_to_build.tenant_id
        and cohort_users.cohort_grain = periods_to_build.cohort_grain
        and cohort_users.cohort_start = periods_to_build.cohort_start
        and user_activity.activity_date >= periods_to_build.period_start
        and user_activity.activity_date < periods_to_build.period_end
    -- an index range on activity_date: the earliest day any period to build reads
    where user_activity.activity_date >= (select min(earliest.period_start) from periods_to_build as earliest)
    {%- endif %}
    -- grouped by position: period_number is a macro expression on a full refresh
    group by 1, 2, 3, 4, 5  -- noqa: AM06

),

period_activity as (

    select
        tenant_id,
        cohort_grain,
        cohort_start,
        period_number,
        count(*) as retained_users,
        sum(sessions_started) as sessions_started,
        sum(matches) as matches
    from user_activity_periods
    group by tenant_id, cohort_grain, cohort_start, period_number

),

joined as (

    -- each period to build's small measures with its cohort users' activity
    select
        periods_to_build.*,
        coalesce(period_activity.retained_users, 0) as retained_users,
        coalesce(period_activity.sessions_started, 0) as sessions_started,
        coalesce(period_activity.matches, 0) as matches
    from periods_to_build
    left join period_activity
        on periods_to_build.tenant_id = period_activity.tenant_id
        and periods_to_build.cohort_grain = period_activity.cohort_grain
        and periods_to_build.cohort_start = period_activity.cohort_start
        and periods_to_build.period_number = period_activity.period_number

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(cohort_grain as text) as cohort_grain,
        cast(cohort_start as date) as cohort_start,
        cast(period_number as integer) as period_number,
        cast(period_start as date) as period_start,
        cast(cohort_size as integer) as cohort_size,
        cast(retained_users as integer) as retained_users,
        {{ safe_rate('retained_users', 'cohort_size') }} as retention_rate,
        cast(
            round(sessions_started / nullif(cast(cohort_size as numeric), 0), 4) as numeric(12, 4)
        ) as avg_sessions_per_user,
        cast(
            round(matches / nullif(cast(cohort_size as numeric), 0), 4) as numeric(12, 4)
        ) as avg_matches_per_user,
        {{ cents_to_money('revenue_cents') }} as revenue,
        {{ cents_to_money(
            'cumulative_revenue_cents / nullif(cast(cohort_size as numeric), 0)'
        ) }} as cumulative_revenue_per_user,
        {{ safe_rate('converted_users', 'cohort_size') }} as paid_conversion_rate
    from joined

)

select * from final
