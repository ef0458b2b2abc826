{#- Subscription milestones of each customer (customer = user_id), one row per
    user with at least one subscription event by the end of the as-of date:
    first_active_at, the first subscription event with status active (the
    "paid conversion" of fct_daily_kpis), and first_paid_at, the first instant the
    customer's MRR was > 0 (start of the first non-empty interval of a subscription
    with MRR > 0; the "MRR > 0 at any point" of fct_retention_cohorts and dim_users). -#}

with

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

final as (

    select
        tenant_id,
        user_id,
        min(valid_from) as first_subscription_event_at,
        min(valid_from) filter (where status = 'active') as first_active_at,
        min(valid_from) filter (
            where subscription_mrr_cents > 0
            and (valid_to is null or valid_to > valid_from)
        ) as first_paid_at
    from subscription_states
    group by tenant_id, user_id

)

select * from final
