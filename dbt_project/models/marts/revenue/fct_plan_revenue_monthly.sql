{#- Subscriptions and revenue per tenant, month and plan (docs/metrics.md
    fct_plan_revenue_monthly). Rows: every month of the tenant's covered range
    (tenant_spine) × every plan of the tenant (dim_plans: its billing plans and any
    plan id its subscriptions reference), zeros where nothing happened.

    - active_subscriptions: subscriptions on the plan whose state at the end of the
      month (for the as-of month, the end of the as-of date) has status active or
      past_due, the statuses that carry MRR (int_subscription_month_ends).
    - mrr: their MRR at that instant, summed exactly over the plan and rounded once
      to the cent (so across plans it may differ by a cent from the sum of customer
      MRR in fct_monthly_revenue when yearly plans make fractional cents).
    - new_subscriptions: subscriptions whose first `active` status starts in the
      month (as in fct_daily_kpis), on the plan of that event.
    - canceled_subscriptions: subscriptions that entered status `canceled` in the
      month (an event with status canceled whose previous state, if any, was not
      canceled), on the plan of that event; a subscription canceled twice in a
      month counts once.
    - gross_revenue: succeeded payments (status succeeded or refunded) settled in
      the month whose subscription was on the plan when the payment was created
      (the state in force at created_at; a payment created before the
      subscription's first event takes the plan of that first event). Payments
      without a known subscription are not plan revenue.
    - renewed_subscriptions: subscriptions with a succeeded payment settled in the
      month that is not their first succeeded payment (order: succeeded_at, then
      payment id), on the plan of that payment as for gross_revenue; counted once
      per month and plan.
    - churn_rate: canceled_subscriptions / active_subscriptions at the start of the
      month (the previous month's end; null in the tenant's first month or when none
      were active), so it exceeds 1 when subscriptions started and ended in the month.
    - arr = mrr × 12; clv = predicted_ltv of mrr per active subscription and
      churn_rate (null when either is null or churn is 0). -#}

with

months as (

    {{ tenant_spine('month') }}

),

plans as (

    select * from {{ ref('dim_plans') }}

),

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

subscription_events as (

    select * from {{ ref('stg_billing__subscription_events') }}

),

subscription_month_ends as (

    select * from {{ ref('int_subscription_month_ends') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

month_plan_grid as (

    {{ spine_per_series('months', 'plans', ['plan_id', 'plan_name'], 'revenue_month') }}

),

month_end_plan_subscriptions as (

    select
        tenant_id,
        revenue_month,
        plan_id,
        count(*) as active_subscriptions,
        sum(subscription_arr_cents) as arr_cents
    from subscription_month_ends
    where is_mrr_bearing
    group by tenant_id, revenue_month, plan_id

),

states_in_order as (

    -- the order of int_subscription_states: occurred_at, then received_at, then id
    select
        subscription_states.*,
        row_number() over (
            partition by subscription_states.tenant_id, subscription_states.subscription_id
            order by
                subscription_states.valid_from,
                subscription_events.received_at,
                subscription_states.subscription_event_id
        ) as event_number
    from subscription_states
    inner join subscription_events
        on subscription_states.tenant_id = subscription_events.tenant_id
        and subscription_states.subscription_event_id = subscription_events.id

),

states_with_previous as (

    select
        *,
        lag(status) over (partition by tenant_id, subscription_id order by event_number) as previous_status
    from states_in_order

),

monthly_new_subscriptions as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", utc_date('valid_from')) }} as revenue_month,
        plan_id,
        count(distinct subscription_id) as new_subscriptions
    from subscription_states
    where is_first_activation
    group by tenant_id, {{ truncate_to_period("'month'", utc_date('valid_from')) }}, plan_id

),

monthly_canceled_subscriptions as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", utc_date('valid_from')) }} as revenue_month,
        plan_id,
        count(distinct subscription_id) as canceled_subscriptions
    from states_with_previous
    where
        status = 'canceled'
        and (previous_status is null or previous_status <> 'canceled')
    group by tenant_id, {{ truncate_to_period("'month'", utc_date('valid_from')) }}, plan_id

),

first_states as (

    -- the subscription's earliest state, for payments created before its first event
    select
        tenant_id,
        subscription_id,
        plan_id
    from states_in_order
    where event_number = 1

),

subscription_payments as (

    select
        payment_attempts.tenant_id,
        {{ truncate_to_period("'month'", 'payment_attempts.succeeded_date') }} as revenue_month,
        coalesce(state_at_creation.plan_id, first_states.plan_id) as plan_id,
        payment_attempts.subscription_id,
        payment_attempts.amount_cents,
        row_number() over (
            partition by payment_attempts.tenant_id, payment_attempts.subscription_id
            order by payment_attempts.succeeded_at, payment_attempts.payment_id
        ) as subscription_payment_number
    from payment_attempts
    inner join first_states
        on payment_attempts.tenant_id = first_states.tenant_id
        and payment_attempts.subscription_id = first_states.subscription_id
    left join subscription_states as state_at_creation
        on payment_attempts.tenant_id = state_at_creation.tenant_id
        and payment_attempts.subscription_id = state_at_creation.subscription_id
        and payment_attempts.created_at >= state_at_creation.valid_from
        and (state_at_creation.valid_to is null or payment_attempts.created_at < state_at_creation.valid_to)
    where payment_attempts.is_succeeded

),

monthly_plan_revenue as (

    select
        tenant_id,
        revenue_month,
        plan_id,
        sum(amount_cents) as gross_revenue_cents,
        count(distinct subscription_id) filter (where subscription_payment_number > 1) as renewed_subscriptions
    from subscription_payments
    group by tenant_id, revenue_month, plan_id

),

joined as (

    {{ spine_with_measures('month_plan_grid', 'revenue_month', {
        'month_end_plan_subscriptions': ['active_subscriptions', 'arr_cents'],
        'monthly_new_subscriptions': ['new_subscriptions'],
        'monthly_canceled_subscriptions': ['canceled_subscriptions'],
        'monthly_plan_revenue': ['gross_revenue_cents', 'renewed_subscriptions'],
    }, keys=['plan_id'], spine_period_column='revenue_month', spine_columns=['plan_name']) }}

),

with_month_start as (

    select
        *,
        {{ cents_to_money('arr_cents / 12.0') }} as mrr,
        -- the grid is dense per tenant and plan: the previous row is the previous month
        lag(active_subscriptions) over (
            partition by tenant_id, plan_id
            order by revenue_month
        ) as starting_active_subscriptions
    from joined

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(revenue_month as date) as revenue_month,
        cast(plan_id as text) as plan_id,
        cast(plan_name as text) as plan_name,
        cast(active_subscriptions as integer) as active_subscriptions,
        cast(new_subscriptions as integer) as new_subscriptions,
        cast(canceled_subscriptions as integer) as canceled_subscriptions,
        mrr,
        {{ cents_to_money('gross_revenue_cents') }} as gross_revenue,
        cast(renewed_subscriptions as integer) as renewed_subscriptions,
        {{ safe_rate('canceled_subscriptions', 'starting_active_subscriptions') }} as churn_rate,
        cast(mrr * 12 as numeric(14, 2)) as arr,
        {{ predicted_ltv('mrr', 'active_subscriptions', 'canceled_subscriptions', 'starting_active_subscriptions') }}
            as clv
    from with_month_start

)

select * from final
