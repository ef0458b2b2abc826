{#- The state of every subscription at the end of each month (docs/metrics.md
    "Subscription MRR"), for month ends at which it is not canceled: one row per
    subscription and month of the tenant's covered range (tenant_spine) whose
    month-end state is trialing, active or past_due. The end of a month is the end
    of its last day, and for the as-of month the end of the as-of date; the state
    in force then is the one of the subscription's last event with occurred_at
    before that instant (version_in_force_at, as in int_customer_mrr_daily:
    valid_from < end <= valid_to).
    is_mrr_bearing (status active or past_due) marks the subscriptions that count
    as active at month end in fct_plan_revenue_monthly and dim_plans;
    subscription_arr_cents is 12 × their MRR in integer cents. -#}

with

months as (

    {{ tenant_spine('month') }}

),

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

month_ends as (

    select
        tenant_id,
        period_start as revenue_month,
        {{ period_last_covered_date('period_end') }} as measured_on_date,
        {{ utc_day_end(period_last_covered_date('period_end')) }} as month_end_at
    from months

),

states_at_month_end as (

    select
        month_ends.tenant_id,
        month_ends.revenue_month,
        month_ends.measured_on_date,
        subscription_states.subscription_id,
        subscription_states.user_id,
        subscription_states.status,
        subscription_states.plan_id,
        subscription_states.quantity,
        subscription_states.subscription_arr_cents
    from month_ends
    inner join subscription_states
        on month_ends.tenant_id = subscription_states.tenant_id
        and {{ version_in_force_at('month_ends.month_end_at', 'subscription_states') }}
    where subscription_states.status <> 'canceled'

),

final as (

    select
        tenant_id,
        revenue_month,
        measured_on_date,
        subscription_id,
        user_id,
        status,
        plan_id,
        quantity,
        subscription_arr_cents,
        status in ('active', 'past_due') as is_mrr_bearing
    from states_at_month_end

)

select * from final
