{#- Daily KPIs per tenant (docs/metrics.md fct_daily_kpis), one row per tenant and day of
    its covered range (tenant_spine), zeros on days without activity. Averages and
    rates are null when their denominator is 0.

    Rolling distinct counts (wau, mau) and the 30-day paid conversion avoid range
    joins: each is a running sum of +1/−1 changes. An active day a of a user with
    previous active day p and next active day n covers the trailing-N-day window of
    days a .. a+N−1; the user enters the window on a if p is null or a − p >= N, and
    leaves it on a + N if n is null or n − a >= N. A signup on day s is in the
    30-day signup window on days s .. s+29, and counts as converted from the day of
    its first active subscription status (if within that range). Matches and
    messages are summed from fct_event_counts_daily (the same accepted events). -#}

with

days as (

    {{ tenant_spine('day') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

user_activity as (

    select * from {{ ref('int_user_activity_daily') }}

),

event_counts as (

    select * from {{ ref('fct_event_counts_daily') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

revenue as (

    select * from {{ ref('int_revenue_daily') }}

),

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

customer_mrr_changes as (

    select * from {{ ref('int_customer_mrr_daily') }}

),

customer_milestones as (

    select * from {{ ref('int_customer_milestones') }}

),

signups as (

    select
        users.tenant_id,
        users.id as user_id,
        {{ utc_date('users.signup_at') }} as signup_date,
        {{ utc_date('customer_milestones.first_active_at') }} as first_active_date
    from users
    left join customer_milestones
        on users.tenant_id = customer_milestones.tenant_id
        and users.id = customer_milestones.user_id
    where users.signup_at < {{ as_of_end() }}

),

daily_active_users as (

    select
        tenant_id,
        activity_date,
        count(*) as active_users
    from user_activity
    group by tenant_id, activity_date

),

daily_event_counts as (

    -- from the incremental event counts (every accepted event, with or without a user, per day,
    -- type and platform), not a scan of every sessionized event: its cost follows the days
    select
        tenant_id,
        event_date,
        sum(events) filter (where event_type = 'match_created') as matches,
        sum(events) filter (where event_type = 'message_sent') as messages
    from event_counts
    where event_type in ('match_created', 'message_sent')
    group by tenant_id, event_date

),

daily_sessions as (

    select
        tenant_id,
        session_date,
        count(*) as sessions,
        avg(duration_seconds) as avg_session_seconds
    from sessions
    group by tenant_id, session_date

),

daily_signups as (

    select
        tenant_id,
        signup_date,
        count(*) as new_users
    from signups
    group by tenant_id, signup_date

),

daily_new_subscriptions as (

    select
        tenant_id,
        {{ utc_date('valid_from') }} as activation_date,
        count(*) as new_subscriptions
    from subscription_states
    where is_first_activation
    group by tenant_id, {{ utc_date('valid_from') }}

),

daily_mrr_changes as (

    select
        tenant_id,
        mrr_date,
        sum(mrr_change) as mrr_change,
        sum(case when mrr > 0 then 1 else 0 end - case when previous_mrr > 0 then 1 else 0 end) as paying_users_change
    from customer_mrr_changes
    group by tenant_id, mrr_date

),

rolling_window_changes as (

    select
        tenant_id,
        activity_date as change_date,
        1 as wau_change,
        0 as mau_change
    from user_activity
    where previous_activity_date is null or activity_date - previous_activity_date >= 7

    union all

    select
        tenant_id,
        activity_date + 7 as change_date,
        -1 as wau_change,
        0 as mau_change
    from user_activity
    where next_activity_date is null or next_activity_date - activity_date >= 7

    union all

    select
        tenant_id,
        activity_date as change_date,
        0 as wau_change,
        1 as mau_change
    from user_activity
    where previous_activity_date is null or activity_date - previous_activity_date >= 30

    union all

    select
        tenant_id,
        activity_date + 30 as change_date,
        0 as wau_change,
        -1 as mau_change
    from user_activity
    where next_activity_date is null or next_activity_date - activity_date >= 30

),

conversion_window_changes as (

    select
        tenant_id,
        signup_date as change_date,
        1 as signups_30d_change,
        0 as converted_30d_change
    from signups

    union all

    select
        tenant_id,
        signup_date + 30 as change_date,
        -1 as signups_30d_change,
        0 as converted_30d_change
    from signups

    union all

    select
        tenant_id,
        greatest(signup_date, first_active_date) as change_date,
        0 as signups_30d_change,
        1 as converted_30d_change
    from signups
    where first_active_date <= signup_date + 29

    union all

    select
        tenant_id,
        signup_date + 30 as change_date,
        0 as signups_30d_change,
        -1 as converted_30d_change
    from signups
    where first_active_date <= signup_date + 29

),

daily_window_changes as (

    select
        tenant_id,
        change_date,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change,
        0 as signups_30d_change,
        0 as converted_30d_change
    from rolling_window_changes
    group by tenant_id, change_date

    union all

    select
        tenant_id,
        change_date,
        0 as wau_change,
        0 as mau_change,
        sum(signups_30d_change) as signups_30d_change,
        sum(converted_30d_change) as converted_30d_change
    from conversion_window_changes
    group by tenant_id, change_date

),

daily_window_changes_summed as (

    select
        tenant_id,
        change_date,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change,
        sum(signups_30d_change) as signups_30d_change,
        sum(converted_30d_change) as converted_30d_change
    from daily_window_changes
    group by tenant_id, change_date

),

day_n_retention as (

    select
        signups.tenant_id,
        signups.signup_date + offsets.days_after_signup as kpi_date,
        offsets.days_after_signup,
        count(*) as cohort_users,
        count(user_activity.user_id) as retained_users
    from signups
    cross join (values (1), (7), (30)) as offsets (days_after_signup)
    left join user_activity
        on signups.tenant_id = user_activity.tenant_id
        and signups.user_id = user_activity.user_id
        and user_activity.activity_date = signups.signup_date + offsets.days_after_signup
    group by signups.tenant_id, signups.signup_date + offsets.days_after_signup, offsets.days_after_signup

),

daily_retention as (

    select
        tenant_id,
        kpi_date,
        sum(cohort_users) filter (where days_after_signup = 1) as d1_cohort_users,
        sum(retained_users) filter (where days_after_signup = 1) as d1_retained_users,
        sum(cohort_users) filter (where days_after_signup = 7) as d7_cohort_users,
        sum(retained_users) filter (where days_after_signup = 7) as d7_retained_users,
        sum(cohort_users) filter (where days_after_signup = 30) as d30_cohort_users,
        sum(retained_users) filter (where days_after_signup = 30) as d30_retained_users
    from day_n_retention
    group by tenant_id, kpi_date

),

joined as (

    select
        days.tenant_id,
        days.period_start as kpi_date,
        coalesce(daily_active_users.active_users, 0) as active_users,
        coalesce(daily_signups.new_users, 0) as new_users,
        coalesce(daily_sessions.sessions, 0) as sessions,
        daily_sessions.avg_session_seconds,
        coalesce(daily_event_counts.matches, 0) as matches,
        coalesce(daily_event_counts.messages, 0) as messages,
        coalesce(revenue.gross_revenue_cents, 0) as gross_revenue_cents,
        coalesce(revenue.refund_cents, 0) as refund_cents,
        coalesce(revenue.net_revenue_cents, 0) as net_revenue_cents,
        coalesce(revenue.payments_attempted, 0) as payments_attempted,
        coalesce(revenue.payments_succeeded, 0) as payments_succeeded,
        coalesce(daily_new_subscriptions.new_subscriptions, 0) as new_subscriptions,
        sum(coalesce(daily_mrr_changes.mrr_change, 0)) over tenant_days as mrr,
        sum(coalesce(daily_mrr_changes.paying_users_change, 0)) over tenant_days as paying_users,
        sum(coalesce(daily_window_changes_summed.wau_change, 0)) over tenant_days as wau,
        sum(coalesce(daily_window_changes_summed.mau_change, 0)) over tenant_days as mau,
        sum(coalesce(daily_window_changes_summed.signups_30d_change, 0)) over tenant_days as signups_30d,
        sum(coalesce(daily_window_changes_summed.converted_30d_change, 0)) over tenant_days as converted_30d,
        daily_retention.d1_cohort_users,
        daily_retention.d1_retained_users,
        daily_retention.d7_cohort_users,
        daily_retention.d7_retained_users,
        daily_retention.d30_cohort_users,
        daily_retention.d30_retained_users
    from days
    left join daily_active_users
        on days.tenant_id = daily_active_users.tenant_id
        and days.period_start = daily_active_users.activity_date
    left join daily_signups
        on days.tenant_id = daily_signups.tenant_id
        and days.period_start = daily_signups.signup_date
    left join daily_sessions
        on days.tenant_id = daily_sessions.tenant_id
        and days.period_start = daily_sessions.session_date
    left join daily_event_counts
        on days.tenant_id = daily_event_counts.tenant_id
        and days.period_start = daily_event_counts.event_date
    left join revenue
        on days.tenant_id = revenue.tenant_id
        and days.period_start = revenue.revenue_date
    left join daily_new_subscriptions
        on days.tenant_id = daily_new_subscriptions.tenant_id
        and days.period_start = daily_new_subscriptions.activation_date
    left join daily_mrr_changes
        on days.tenant_id = daily_mrr_changes.tenant_id
        and days.period_start = daily_mrr_changes.mrr_date
    left join daily_window_changes_summed
        on days.tenant_id = daily_window_changes_summed.tenant_id
        and days.period_start = daily_window_changes_summed.change_date
    left join daily_retention
        on days.tenant_id = daily_retention.tenant_id
        and days.period_start = daily_retention.kpi_date
    window tenant_days as (
        partition by days.tenant_id
        order by days.period_start
        rows between unbounded preceding and current row
    )

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(kpi_date as date) as kpi_date,
        cast(active_users as integer) as active_users,
        cast(new_users as integer) as new_users,
        cast(sessions as integer) as sessions,
        cast(round(avg_session_seconds, 2) as numeric(12, 2)) as avg_session_seconds,
        cast(matches as integer) as matches,
        cast(messages as integer) as messages,
        {{ cents_to_money('gross_revenue_cents') }} as gross_revenue,
        {{ cents_to_money('refund_cents') }} as refunds,
        {{ cents_to_money('net_revenue_cents') }} as net_revenue,
        cast(payments_attempted as integer) as payments_attempted,
        cast(payments_succeeded as integer) as payments_succeeded,
        cast(new_subscriptions as integer) as new_subscriptions,
        cast(mrr as numeric(14, 2)) as mrr,
        cast(paying_users as integer) as paying_users,
        cast(wau as integer) as wau,
        cast(mau as integer) as mau,
        {{ safe_rate('active_users', 'mau') }} as stickiness_rate,
        {{ safe_rate('d1_retained_users', 'd1_cohort_users') }} as retention_d1_rate,
        {{ safe_rate('d7_retained_users', 'd7_cohort_users') }} as retention_d7_rate,
        {{ safe_rate('d30_retained_users', 'd30_cohort_users') }} as retention_d30_rate,
        {{ safe_rate('converted_30d', 'signups_30d') }} as paid_conversion_30d_rate
    from joined

)

select * from final
