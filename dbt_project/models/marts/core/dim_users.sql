{#- One row per app user (customer = user_id) as of the end of the as-of date:
    signup and acquisition attributes, activity span, subscription milestones, current
    MRR and lifetime payments. first_paid_at is the first instant the user's MRR was
    > 0 (int_customer_milestones); first_payment_at the settled time of their first
    succeeded payment. lifetime_revenue is gross succeeded payments (as in cohort
    revenue), lifetime_net_revenue net of refunds. Deleted users are kept, flagged. -#}

with

users as (

    select * from {{ ref('stg_app__users') }}

),

user_activity as (

    select * from {{ ref('int_user_activity_daily') }}

),

customer_milestones as (

    select * from {{ ref('int_customer_milestones') }}

),

customer_mrr_changes as (

    select * from {{ ref('int_customer_mrr_daily') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

refunds as (

    select * from {{ ref('int_refunds_attributed') }}

),

user_activity_spans as (

    select
        tenant_id,
        user_id,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date,
        count(*) as active_days
    from user_activity
    group by tenant_id, user_id

),

current_mrr as (

    select
        tenant_id,
        user_id,
        mrr
    from customer_mrr_changes
    where next_mrr_date is null

),

user_payments as (

    select
        tenant_id,
        user_id,
        min(succeeded_at) as first_payment_at,
        count(*) as payments_succeeded,
        sum(amount_cents) as revenue_cents
    from payment_attempts
    where is_succeeded
    group by tenant_id, user_id

),

user_refunds as (

    select
        tenant_id,
        user_id,
        sum(amount_cents) as refund_cents
    from refunds
    where user_id is not null
    group by tenant_id, user_id

),

final as (

    select
        cast(users.tenant_id as text) as tenant_id,
        cast(users.id as text) as user_id,
        cast(users.signup_at as timestamptz) as signup_at,
        {{ utc_date('users.signup_at') }} as signup_date,
        cast(users.platform as text) as platform,
        cast(users.country as text) as country,
        cast(users.acquisition_channel as text) as acquisition_channel,
        cast(users.deleted_at as timestamptz) as deleted_at,
        users.deleted_at is not null as is_deleted,
        user_activity_spans.first_active_date,
        user_activity_spans.last_active_date,
        cast(coalesce(user_activity_spans.active_days, 0) as integer) as active_days,
        cast(customer_milestones.first_active_at as timestamptz) as first_subscription_active_at,
        cast(customer_milestones.first_paid_at as timestamptz) as first_paid_at,
        cast(user_payments.first_payment_at as timestamptz) as first_payment_at,
        cast(coalesce(current_mrr.mrr, 0) as numeric(14, 2)) as current_mrr,
        coalesce(current_mrr.mrr, 0) > 0 as is_paying,
        cast(coalesce(user_payments.payments_succeeded, 0) as integer) as payments_succeeded,
        {{ cents_to_money('coalesce(user_payments.revenue_cents, 0)') }} as lifetime_revenue,
        {{ cents_to_money('coalesce(user_refunds.refund_cents, 0)') }} as lifetime_refunds,
        {{ cents_to_money(
            'coalesce(user_payments.revenue_cents, 0) - coalesce(user_refunds.refund_cents, 0)'
        ) }} as lifetime_net_revenue
    from users
    left join user_activity_spans
        on users.tenant_id = user_activity_spans.tenant_id
        and users.id = user_activity_spans.user_id
    left join customer_milestones
        on users.tenant_id = customer_milestones.tenant_id
        and users.id = customer_milestones.user_id
    left join current_mrr
        on users.tenant_id = current_mrr.tenant_id
        and users.id = current_mrr.user_id
    left join user_payments
        on users.tenant_id = user_payments.tenant_id
        and users.id = user_payments.user_id
    left join user_refunds
        on users.tenant_id = user_refunds.tenant_id
        and users.id = user_refunds.user_id

)

select * from final
