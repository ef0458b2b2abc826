{#- Subscription MRR (docs/metrics.md "Subscription MRR") as validity intervals: one row
    per subscription event that occurred by the end of the as-of date, carrying the
    subscription's state after the event (status, plan, quantity), which holds from
    valid_from (the event's occurred_at) until the subscription's next event
    (valid_to, exclusive; null while current). Events of one subscription are
    ordered by occurred_at, then received_at, then id; two events at the same
    instant give a zero-length interval that is never in force.

    subscription_mrr_cents: while the status is active or past_due, the plan's
    current amount_cents (stg_billing__plans) × quantity, / 12 for yearly plans; 0
    when trialing or canceled, or when the plan is unknown. It is also kept
    annualized as an integer (subscription_arr_cents = 12 × MRR), which customer
    MRR sums before its single division by 12 and rounding to the cent, so monthly
    and yearly subscriptions add up exactly. Staging quarantines a subscription
    event whose ARR would not fit the marts' money type (out_of_range), so one
    subscription's ARR stays below 10^14 cents: bigint and numeric(20, 6) hold
    it, and sums over many subscriptions. -#}

with

subscription_events as (

    select * from {{ ref('stg_billing__subscription_events') }}

),

plans as (

    select * from {{ ref('stg_billing__plans') }}

),

events_in_range as (

    select * from subscription_events
    where occurred_at < {{ as_of_end() }}

),

events_in_order as (

    select
        *,
        lead(occurred_at) over subscription_timeline as next_event_at,
        bool_or(status = 'active') over (
            subscription_timeline rows between unbounded preceding and 1 preceding
        ) as was_active_before
    from events_in_range
    window subscription_timeline as (
        partition by tenant_id, subscription_id
        order by occurred_at, received_at, id
    )

),

states_priced as (

    select
        events_in_order.*,
        plans.billing_interval,
        plans.amount_cents as plan_amount_cents,
        -- annualized so that monthly and yearly plans add up exactly in integer cents
        case
            when events_in_order.status in ('active', 'past_due')
                then cast(coalesce(plans.amount_cents, 0) as bigint) * events_in_order.quantity
                    * case when plans.billing_interval = 'year' then 1 else 12 end
            else 0
        end as subscription_arr_cents
    from events_in_order
    left join plans
        on events_in_order.tenant_id = plans.tenant_id
        and events_in_order.plan_id = plans.id

),

final as (

    select
        states_priced.id as subscription_event_id,
        states_priced.tenant_id,
        states_priced.subscription_id,
        states_priced.user_id,
        states_priced.event_type,
        states_priced.status,
        states_priced.plan_id,
        states_priced.quantity,
        states_priced.billing_interval,
        states_priced.plan_amount_cents,
        states_priced.occurred_at as valid_from,
        states_priced.next_event_at as valid_to,
        states_priced.next_event_at is null as is_current,
        (
            states_priced.status = 'active'
            and not coalesce(states_priced.was_active_before, false)
        ) as is_first_activation,
        states_priced.subscription_arr_cents,
        cast(round(states_priced.subscription_arr_cents / 12.0, 6) as numeric(20, 6)) as subscription_mrr_cents
    from states_priced

)

select * from final
