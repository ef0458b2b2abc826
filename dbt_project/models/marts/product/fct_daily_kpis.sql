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
    messages are summed from fct_event_counts_daily (the same accepted events).

    Incremental (docs/incremental.md): small inputs' measures are computed for
    every day and compared with the table; user days and sessions are read for
    the rebuilt days only: those periods_to_rebuild() names (from the window's
    start, new, or changed: small measures differ, 1/7/30 days after changed
    signups, days of a session with an event in the window). Active users, wau
    and mau are counted again from each tenant's first day in the window or
    new, continuing the table's sums of the day before (changes dated before
    the window come from user days incremental runs keep). -#}
-- depends_on: {{ ref('int_sessions_sessionized') }}
{%- set retention_days = [1, 7, 30] %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'kpi_date'],
    on_schema_change='fail',
) }}

with

days as (

    {{ tenant_spine('day') }}

),

user_activity as not materialized (

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

signups as (

    select * from {{ ref('int_users_signed_up') }}

),

daily_event_counts as (

    -- from the event counts, not a scan of the sessionized events
    select
        tenant_id,
        event_date,
        sum(events) filter (where event_type = 'match_created') as matches,
        sum(events) filter (where event_type = 'message_sent') as messages
    from event_counts
    where event_type in ('match_created', 'message_sent')
    group by tenant_id, event_date

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

daily_conversion_changes as (

    select
        tenant_id,
        change_date,
        sum(signups_30d_change) as signups_30d_change,
        sum(converted_30d_change) as converted_30d_change
    from conversion_window_changes
    group by tenant_id, change_date

),

small_measures as (

    -- every day's measures from the small inputs
    select
        days.tenant_id,
        days.period_start,
        days.period_end,
        coalesce(daily_signups.new_users, 0) as new_users,
        {{ measures_or_zero('daily_event_counts', ['matches', 'messages']) }},
        {{ measures_or_zero('revenue', [
            'gross_revenue_cents', 'refund_cents', 'net_revenue_cents', 'payments_attempted', 'payments_succeeded'
        ]) }},
        coalesce(daily_new_subscriptions.new_subscriptions, 0) as new_subscriptions,
        sum(coalesce(daily_mrr_changes.mrr_change, 0)) over tenant_days as mrr,
        sum(coalesce(daily_mrr_changes.paying_users_change, 0)) over tenant_days as paying_users,
        sum(coalesce(daily_conversion_changes.signups_30d_change, 0)) over tenant_days as signups_30d,
        sum(coalesce(daily_conversion_changes.converted_30d_change, 0)) over tenant_days as converted_30d
    from days
    left join daily_signups
        on days.tenant_id = daily_signups.tenant_id
        and days.period_start = daily_signups.signup_date
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
    left join daily_conversion_changes
        on days.tenant_id = daily_conversion_changes.tenant_id
        and days.period_start = daily_conversion_changes.change_date
    window tenant_days as (
        partition by days.tenant_id
        order by days.period_start
        rows between unbounded preceding and current row
    )

),
{% if is_incremental() %}
built as (

    select * from {{ this }}

),

changed_small_measures as (

    -- days whose small measures differ from the table's
    select
        small_measures.tenant_id,
        small_measures.period_start,
        cast(small_measures.new_users as integer) <> built.new_users as is_signups_change
    from small_measures
    inner join built
        on small_measures.tenant_id = built.tenant_id
        and small_measures.period_start = built.kpi_date
    where (
        cast(small_measures.new_users as integer),
        cast(small_measures.matches as integer),
        cast(small_measures.messages as integer),
        {{ cents_to_money('small_measures.gross_revenue_cents') }},
        {{ cents_to_money('small_measures.refund_cents') }},
        {{ cents_to_money('small_measures.net_revenue_cents') }},
        cast(small_measures.payments_attempted as integer),
        cast(small_measures.payments_succeeded as integer),
        cast(small_measures.new_subscriptions as integer),
        cast(small_measures.mrr as numeric(14, 2)),
        cast(small_measures.paying_users as integer),
        {{ safe_rate('small_measures.converted_30d', 'small_measures.signups_30d') }}
    ) is distinct from (
        built.new_users,
        built.matches,
        built.messages,
        built.gross_revenue,
        built.refunds,
        built.net_revenue,
        built.payments_attempted,
        built.payments_succeeded,
        built.new_subscriptions,
        built.mrr,
        built.paying_users,
        built.paid_conversion_30d_rate
    )

),

sessions_from as (

    -- the first day of a session with an event in the window
    select {{ utc_date('min(window_events.session_started_at)') }} as session_date
    from {{ ref('int_sessions_sessionized') }} as window_events
    where window_events.event_date >= {{ incremental_window_start() }}

),

changed_days as (

    select
        changed_small_measures.tenant_id,
        changed_small_measures.period_start
    from changed_small_measures

    union

    -- the retention cohorts of a day whose signups changed
    select
        changed_small_measures.tenant_id,
        changed_small_measures.period_start + offsets.days_after_signup as period_start
    from changed_small_measures
    cross join (values (1), (7), (30)) as offsets (days_after_signup)
    where changed_small_measures.is_signups_change

    union

    select
        small_measures.tenant_id,
        small_measures.period_start
    from small_measures
    where small_measures.period_start >= (select sessions_from.session_date from sessions_from)

),
{% else %}
built as (

    -- none on a full refresh
    select
        cast(null as text) as tenant_id,
        cast(null as date) as kpi_date,
        cast(null as integer) as active_users,
        cast(null as integer) as wau,
        cast(null as integer) as mau
    where false

),
{% endif %}
days_to_build as (

    {{ periods_to_rebuild('small_measures', [], 'changed_days', 'kpi_date') }}

),

count_starts as (

    -- each tenant's first day in the window or new, the table's sums the day before
    select
        first_days.tenant_id,
        first_days.count_from,
        coalesce(built.wau, 0) as wau_before,
        coalesce(built.mau, 0) as mau_before
    from (
        select
            days_to_count.tenant_id,
            min(days_to_count.period_start) as count_from
        from ({{ periods_to_rebuild('small_measures', [], built_period='kpi_date') }}) as days_to_count
        group by days_to_count.tenant_id
    ) as first_days
    left join built
        on first_days.tenant_id = built.tenant_id
        and first_days.count_from - 1 = built.kpi_date

),

recent_user_activity as (

    -- user days whose changes fall on counted days, with their tenant's first counted day
    select
        user_activity.*,
        count_starts.count_from
    from user_activity
    inner join count_starts
        on user_activity.tenant_id = count_starts.tenant_id
    where
        user_activity.activity_date >= count_starts.count_from - 30
        and user_activity.activity_date >= (select min(earliest.count_from) from count_starts as earliest) - 30

),

daily_active_users as (

    select
        tenant_id,
        activity_date,
        count(*) as active_users
    from recent_user_activity
    where activity_date >= count_from
    group by tenant_id, activity_date

),

rolling_window_changes as (

    select
        tenant_id,
        activity_date as change_date,
        1 as wau_change,
        0 as mau_change,
        count_from
    from recent_user_activity
    where previous_activity_date is null or activity_date - previous_activity_date >= 7

    union all

    select
        tenant_id,
        activity_date + 7 as change_date,
        -1 as wau_change,
        0 as mau_change,
        count_from
    from recent_user_activity
    where next_activity_date is null or next_activity_date - activity_date >= 7

    union all

    select
        tenant_id,
        activity_date as change_date,
        0 as wau_change,
        1 as mau_change,
        count_from
    from recent_user_activity
    where previous_activity_date is null or activity_date - previous_activity_date >= 30

    union all

    select
        tenant_id,
        activity_date + 30 as change_date,
        0 as wau_change,
        -1 as mau_change,
        count_from
    from recent_user_activity
    where next_activity_date is null or next_activity_date - activity_date >= 30

),

daily_window_changes as (

    select
        tenant_id,
        change_date,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change
    from rolling_window_changes
    where change_date >= count_from
    group by tenant_id, change_date

),

counted as (

    -- every day from the first one counted, continuing the table's sums
    select
        small_measures.tenant_id,
        small_measures.period_start,
        coalesce(daily_active_users.active_users, 0) as active_users,
        count_starts.wau_before + sum(coalesce(daily_window_changes.wau_change, 0)) over tenant_days as wau,
        count_starts.mau_before + sum(coalesce(daily_window_changes.mau_change, 0)) over tenant_days as mau
    from small_measures
    inner join count_starts
        on small_measures.tenant_id = count_starts.tenant_id
        and small_measures.period_start >= count_starts.count_from
    left join daily_active_users
        on small_measures.tenant_id = daily_active_users.tenant_id
        and small_measures.period_start = daily_active_users.activity_date
    left join daily_window_changes
        on small_measures.tenant_id = daily_window_changes.tenant_id
        and small_measures.period_start = daily_window_changes.change_date
    window tenant_days as (
        partition by small_measures.tenant_id
        order by small_measures.period_start
        rows between unbounded preceding and current row
    )

),

daily_sessions as (

    select
        sessions.tenant_id,
        sessions.session_date,
        count(*) as sessions,
        avg(sessions.duration_seconds) as avg_session_seconds
    from sessions
    inner join days_to_build
        on sessions.tenant_id = days_to_build.tenant_id
        and sessions.session_date = days_to_build.period_start
    -- = any(array(...)): an index scan of those days
    where sessions.session_date = any(array(select distinct rebuilt.period_start from days_to_build as rebuilt))
    group by sessions.tenant_id, sessions.session_date

),

day_n_retention as (

    -- signups of day d − n against user days of day d
    select
        days_to_build.tenant_id,
        days_to_build.period_start as kpi_date,
        offsets.days_after_signup,
        count(*) as cohort_users,
        count(user_activity.user_id) as retained_users
    from days_to_build
    cross join (values (1), (7), (30)) as offsets (days_after_signup)
    inner join signups
        on days_to_build.tenant_id = signups.tenant_id
        and signups.signup_date = days_to_build.period_start - offsets.days_after_signup
    left join user_activity
        on signups.tenant_id = user_activity.tenant_id
        and signups.user_id = user_activity.user_id
        and user_activity.activity_date = days_to_build.period_start
    group by days_to_build.tenant_id, days_to_build.period_start, offsets.days_after_signup

),

daily_retention as (

    select
        tenant_id,
        {%- for days in retention_days %}
        sum(cohort_users) filter (where days_after_signup = {{ days }}) as d{{ days }}_cohort_users,
        sum(retained_users) filter (where days_after_signup = {{ days }}) as d{{ days }}_retained_users,
        {%- endfor %}
        kpi_date
    from day_n_retention
    group by tenant_id, kpi_date

),

joined as (

    -- each day to build's small measures with its counts, sessions and retention
    select
        days_to_build.*,
        case
            when counted.tenant_id is not null then counted.active_users else built.active_users
        end as active_users,
        case when counted.tenant_id is not null then counted.wau else built.wau end as wau,
        case when counted.tenant_id is not null then counted.mau else built.mau end as mau,
        {%- for days in retention_days %}
        daily_retention.d{{ days }}_cohort_users,
        daily_retention.d{{ days }}_retained_users,
        {%- endfor %}
        coalesce(daily_sessions.sessions, 0) as sessions,
        daily_sessions.avg_session_seconds
    from days_to_build
    left join counted
        on days_to_build.tenant_id = counted.tenant_id
        and days_to_build.period_start = counted.period_start
    left join built
        on days_to_build.tenant_id = built.tenant_id
        and days_to_build.period_start = built.kpi_date
    left join daily_sessions
        on days_to_build.tenant_id = daily_sessions.tenant_id
        and days_to_build.period_start = daily_sessions.session_date
    left join daily_retention
        on days_to_build.tenant_id = daily_retention.tenant_id
        and days_to_build.period_start = daily_retention.kpi_date

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(period_start as date) as kpi_date,
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
