{{ config(materialized='table') }}

{#- The covered range of every tenant (docs/metrics.md conventions): from its first
    activity (first signup, app event, subscription event or payment) to the run's
    as-of date. The tenant_spine macro reads it, so every mart's zero rows start on
    the same day. A table: every spine of every mart reads it. -#}

with

organizations as (

    select * from {{ ref('stg_app__organizations') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

activity_starts as (

    select
        tenant_id,
        min(signup_at) as first_at
    from users
    where signup_at < {{ as_of_end() }}
    group by tenant_id

    union all

    select
        tenant_id,
        min(occurred_at) as first_at
    from sessionized_events
    group by tenant_id

    union all

    select
        tenant_id,
        min(valid_from) as first_at
    from subscription_states
    group by tenant_id

    union all

    select
        tenant_id,
        min(created_at) as first_at
    from payment_attempts
    group by tenant_id

),

first_activity as (

    select
        tenant_id,
        min(first_at) as first_activity_at
    from activity_starts
    group by tenant_id

),

final as (

    select
        organizations.id as tenant_id,
        first_activity.first_activity_at,
        {{ utc_date('first_activity.first_activity_at') }} as covered_from_date,
        {{ as_of_date() }} as covered_to_date
    from organizations
    left join first_activity
        on organizations.id = first_activity.tenant_id

)

select * from final
