{#- Succeeded payments per tenant, month and resource: the "top resources" view
    (docs/metrics.md fct_resource_revenue_monthly). A succeeded payment (status succeeded
    or refunded) counts in the UTC month of its settled_at (succeeded_date of
    int_payments_attempts; created_at when it has no settled_at), as in the revenue
    marts; revenue is the gross amount (refunds are not subtracted). A payment
    without resource counts as '(none)'. Rows: every month of the tenant's covered
    range (tenant_spine) × every resource of the tenant's succeeded payments by the
    as-of date, zeros in months without sales; a tenant without succeeded payments
    has no rows. rank = rank() by revenue, descending, within the tenant's month:
    1 = most revenue, equal revenue shares a rank (the next rank skips), zero rows
    rank last. -#}

with

months as (

    {{ tenant_spine('month') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

succeeded_payments as (

    select
        tenant_id,
        user_id,
        amount_cents,
        {{ truncate_to_period("'month'", 'succeeded_date') }} as revenue_month,
        coalesce(resource, '(none)') as resource_name
    from payment_attempts
    where is_succeeded
        and succeeded_date <= {{ as_of_date() }}

),

tenant_resources as (

    select distinct
        tenant_id,
        resource_name
    from succeeded_payments

),

month_resource_grid as (

    {{ spine_per_series('months', 'tenant_resources', ['resource_name'], 'revenue_month') }}

),

monthly_resource_revenue as (

    select
        tenant_id,
        revenue_month,
        resource_name,
        count(*) as payments_succeeded,
        sum(amount_cents) as revenue_cents,
        count(distinct user_id) as unique_payers
    from succeeded_payments
    group by tenant_id, revenue_month, resource_name

),

joined as (

    {{ spine_with_measures('month_resource_grid', 'revenue_month', {
        'monthly_resource_revenue': ['payments_succeeded', 'revenue_cents', 'unique_payers'],
    }, keys=['resource_name'], spine_period_column='revenue_month') }}

),

ranked as (

    select
        *,
        rank() over (partition by tenant_id, revenue_month order by revenue_cents desc) as revenue_rank
    from joined

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(revenue_month as date) as revenue_month,
        cast(resource_name as text) as resource,  -- noqa: RF04
        cast(payments_succeeded as integer) as payments_succeeded,
        {{ cents_to_money('revenue_cents') }} as revenue,
        cast(unique_payers as integer) as unique_payers,
        cast(revenue_rank as integer) as rank  -- noqa: RF04
    from ranked

)

select * from final
