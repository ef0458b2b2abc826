-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'user_id'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} as built where not exists (select 1 from {{ ref('stg_app__users') }} as users where users.tenant_id = built.tenant_id and users.id = built.user_id){% endif %}",
) }}

{#- One row per app user (customer = user_id) as of the end of the as-of date:
    signup and acquisition attributes, activity span, subscription milestones, current
    MRR and lifetime payments. first_paid_at is the first instant the user's MRR was
    > 0 (int_customer_milestones); first_payment_at the settled time of their first
    succeeded payment. lifetime_revenue is gross succeeded payments (as in cohort
    revenue), lifetime_net_revenue net of refunds. Deleted users are kept, flagged.

    Incremental (delete+insert on tenant_id, user_id): the activity span is the one
    large input, and only the users a new event touches (touched_user_ctes) change
    theirs in int_user_activity_daily; so a run reads the span of those users and of
    the users the table does not hold yet (an index range on (tenant_id, user_id,
    activity_date) each), and keeps the table's span for every other user. The
    other inputs (users, milestones, MRR, payments, refunds) are small and read
    whole; each user's row is compared with the table's and only a new or changed
    row is written. A pre-hook deletes the rows of users no longer in
    stg_app__users. -#}

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

{% if is_incremental() %}
{{ touched_user_ctes(name='touched_users') }}

-- the users whose span this run reads: those a new event touches and those new to the table
span_users as (

    select
        touched_users.tenant_id,
        touched_users.user_id
    from touched_users

    union

    select
        users.tenant_id,
        users.id as user_id
    from users
    where {{ missing_from_table({'tenant_id': 'users.tenant_id', 'user_id': 'users.id'}) }}

),

user_activity_spans as (

    -- per user an index range on (tenant_id, user_id, activity_date)
    select
        span_users.tenant_id,
        span_users.user_id,
        user_span.first_active_date,
        user_span.last_active_date,
        user_span.active_days
    from span_users
    cross join
        lateral (
            select
                min(user_activity.activity_date) as first_active_date,
                max(user_activity.activity_date) as last_active_date,
                count(*) as active_days
            from user_activity
            where
                user_activity.tenant_id = span_users.tenant_id
                and user_activity.user_id = span_users.user_id
        ) as user_span
    where user_span.active_days > 0

    union all

    -- every other user keeps the table's span
    select
        built.tenant_id,
        built.user_id,
        built.first_active_date,
        built.last_active_date,
        built.active_days
    from {{ this }} as built
    where
        built.active_days > 0
        and not exists (
            select 1
            from span_users
            where
                span_users.tenant_id = built.tenant_id
                and span_users.user_id = built.user_id
        )

),
{% else %}
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
{% endif %}

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

{% if is_incremental() %}
{%- set compared_columns = [
    'signup_at', 'signup_date', 'platform', 'country', 'acquisition_channel', 'deleted_at',
    'is_deleted', 'first_active_date', 'last_active_date', 'active_days',
    'first_subscription_active_at', 'first_paid_at', 'first_payment_at', 'current_mrr',
    'is_paying', 'payments_succeeded', 'lifetime_revenue', 'lifetime_refunds',
    'lifetime_net_revenue',
] %}
-- only the rows that are new or differ from the table's
select final.*
from final
left join {{ this }} as built
    on final.tenant_id = built.tenant_id
    and final.user_id = built.user_id
where
    built.user_id is null
    or row(
        {%- for column in compared_columns %}
        final.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) is distinct from row(
        {%- for column in compared_columns %}
        built.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{% else %}
select * from final
{% endif %}
