{#- One row per billing plan of each tenant as of the end of the as-of date: the
    plan's latest accepted version (stg_billing__plans) and its current book.
    Plan ids that subscriptions reference but billing.plans does not hold (or whose
    row was quarantined) are rows too, with is_known_plan false and null attributes:
    their subscriptions carry MRR 0 (docs/metrics.md "Subscription MRR"), and every plan
    id of fct_plan_revenue_monthly is here.

    monthly_amount is the plan's MRR per unit of quantity (amount / 12 for yearly
    plans). active_subscriptions and mrr are the subscriptions on the plan whose
    state at the end of the as-of date has status active or past_due, and their
    MRR (int_subscription_month_ends, as fct_plan_revenue_monthly's as-of month). -#}

with

plans as (

    select * from {{ ref('stg_billing__plans') }}

),

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

subscription_month_ends as (

    select * from {{ ref('int_subscription_month_ends') }}

),

referenced_plans as (

    select
        tenant_id,
        plan_id,
        count(distinct subscription_id) as subscriptions,
        min(valid_from) as first_subscribed_at
    from subscription_states
    group by tenant_id, plan_id

),

all_plan_ids as (

    select
        tenant_id,
        id as plan_id
    from plans

    union

    select
        tenant_id,
        plan_id
    from referenced_plans

),

current_book as (

    select
        tenant_id,
        plan_id,
        count(*) as active_subscriptions,
        sum(subscription_arr_cents) as arr_cents
    from subscription_month_ends
    where
        revenue_month = {{ truncate_to_period("'month'", as_of_date()) }}
        and is_mrr_bearing
    group by tenant_id, plan_id

),

final as (

    select
        cast(all_plan_ids.tenant_id as text) as tenant_id,
        cast(all_plan_ids.plan_id as text) as plan_id,
        cast(plans.name as text) as plan_name,
        plans.id is not null as is_known_plan,
        cast(plans.billing_interval as text) as billing_interval,
        {{ cents_to_money('plans.amount_cents') }} as amount,
        {{ cents_to_money("plans.amount_cents / case when plans.billing_interval = 'year' then 12.0 else 1 end") }}
            as monthly_amount,
        cast(plans.currency as text) as currency,
        cast(plans.updated_at as timestamptz) as updated_at,
        cast(referenced_plans.first_subscribed_at as timestamptz) as first_subscribed_at,
        cast(coalesce(referenced_plans.subscriptions, 0) as integer) as subscriptions,
        cast(coalesce(current_book.active_subscriptions, 0) as integer) as active_subscriptions,
        {{ cents_to_money('coalesce(current_book.arr_cents, 0) / 12.0') }} as mrr
    from all_plan_ids
    left join plans
        on all_plan_ids.tenant_id = plans.tenant_id
        and all_plan_ids.plan_id = plans.id
    left join referenced_plans
        on all_plan_ids.tenant_id = referenced_plans.tenant_id
        and all_plan_ids.plan_id = referenced_plans.plan_id
    left join current_book
        on all_plan_ids.tenant_id = current_book.tenant_id
        and all_plan_ids.plan_id = current_book.plan_id

)

select * from final
