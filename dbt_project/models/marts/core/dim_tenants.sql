{#- One row per tenant (organization) as of the end of the as-of date: name,
    currency, covered range (int_tenant_coverage) and headline totals: users,
    current paying customers and MRR, lifetime gross / refunded / net revenue. A
    tenant with no activity yet has a null covered_from_date and zero totals. -#}

with

organizations as (

    select * from {{ ref('stg_app__organizations') }}

),

tenant_coverage as (

    select * from {{ ref('int_tenant_coverage') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

customer_mrr_changes as (

    select * from {{ ref('int_customer_mrr_daily') }}

),

revenue as (

    select * from {{ ref('int_revenue_daily') }}

),

tenant_users as (

    select
        tenant_id,
        count(*) as users
    from users
    where signup_at < {{ as_of_end() }}
    group by tenant_id

),

tenant_mrr as (

    select
        tenant_id,
        sum(mrr) as current_mrr,
        count(*) filter (where mrr > 0) as paying_customers
    from customer_mrr_changes
    where next_mrr_date is null
    group by tenant_id

),

tenant_revenue as (

    select
        tenant_id,
        sum(gross_revenue_cents) as gross_revenue_cents,
        sum(refund_cents) as refund_cents,
        sum(net_revenue_cents) as net_revenue_cents
    from revenue
    group by tenant_id

),

final as (

    select
        cast(organizations.id as text) as tenant_id,
        cast(organizations.name as text) as tenant_name,
        cast(organizations.currency as text) as currency,
        cast(organizations.created_at as timestamptz) as created_at,
        cast(tenant_coverage.first_activity_at as timestamptz) as first_activity_at,
        cast(tenant_coverage.covered_from_date as date) as covered_from_date,
        cast(tenant_coverage.covered_to_date as date) as covered_to_date,
        cast(coalesce(tenant_users.users, 0) as integer) as users,
        cast(coalesce(tenant_mrr.paying_customers, 0) as integer) as paying_customers,
        cast(coalesce(tenant_mrr.current_mrr, 0) as numeric(14, 2)) as current_mrr,
        cast(coalesce(tenant_mrr.current_mrr, 0) * 12 as numeric(14, 2)) as current_arr,
        {{ cents_to_money('coalesce(tenant_revenue.gross_revenue_cents, 0)') }} as lifetime_revenue,
        {{ cents_to_money('coalesce(tenant_revenue.refund_cents, 0)') }} as lifetime_refunds,
        {{ cents_to_money('coalesce(tenant_revenue.net_revenue_cents, 0)') }} as lifetime_net_revenue
    from organizations
    left join tenant_coverage
        on organizations.id = tenant_coverage.tenant_id
    left join tenant_users
        on organizations.id = tenant_users.tenant_id
    left join tenant_mrr
        on organizations.id = tenant_mrr.tenant_id
    left join tenant_revenue
        on organizations.id = tenant_revenue.tenant_id

)

select * from final
