{#- The signups the product marts count (docs/metrics.md fct_daily_kpis new_users and
    paid conversion, fct_retention_cohorts cohorts): one row per app user who signed up
    by the end of the as-of date, with the UTC dates of the user's subscription
    milestones (int_customer_milestones; null for a user without them). A view: the
    incremental marts that read it see every signup on every run. -#}

with

users as (

    select * from {{ ref('stg_app__users') }}

),

customer_milestones as (

    select * from {{ ref('int_customer_milestones') }}

),

final as (

    select
        users.tenant_id,
        users.id as user_id,
        users.signup_at,
        {{ utc_date('users.signup_at') }} as signup_date,
        {{ utc_date('customer_milestones.first_active_at') }} as first_active_date,
        {{ utc_date('customer_milestones.first_paid_at') }} as first_paid_date
    from users
    left join customer_milestones
        on users.tenant_id = customer_milestones.tenant_id
        and users.id = customer_milestones.user_id
    where users.signup_at < {{ as_of_end() }}

)

select * from final
