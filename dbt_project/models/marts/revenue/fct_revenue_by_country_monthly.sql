{#- Revenue per tenant, month and country of the paying user (docs/metrics.md
    fct_revenue_by_country_monthly). The country is the user's
    (stg_app__users.country, the value dim_users shows), 'ZZ' when the user is
    unknown or has no country. Succeeded payments count in the month of their
    succeeded date and refunds in the month of their own created_at, exactly as
    in int_revenue_daily, so a month's gross, refunds and net over its countries
    add up to fct_monthly_revenue's. A refund counts under the country of the
    user of the refunded payment. unique_payers: distinct users with a succeeded
    payment in the month. share_of_gross_rate: the country's gross / the
    tenant's gross that month (null when that is 0).

    Rows: only (month, country) pairs with a succeeded payment or a refund, in
    the months of the tenant's covered range (tenant_spine, as fct_monthly_revenue)
    — the one mart without a row per grain value: countries are many and mostly
    empty. -#}

with

months as (

    {{ tenant_spine('month') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

refunds as (

    select * from {{ ref('int_refunds_attributed') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

user_countries as (

    select
        tenant_id,
        id as user_id,
        nullif(trim(country), '') as country_code
    from users

),

money_movements as (

    -- one row per succeeded payment and per refund, in its own month
    select
        payment_attempts.tenant_id,
        payment_attempts.user_id,
        {{ truncate_to_period("'month'", 'payment_attempts.succeeded_date') }} as revenue_month,
        payment_attempts.amount_cents as gross_cents,
        0 as refund_cents,
        1 as payments_succeeded
    from payment_attempts
    where payment_attempts.is_succeeded

    union all

    select
        refunds.tenant_id,
        refunds.user_id,
        {{ truncate_to_period("'month'", 'refunds.refund_date') }} as revenue_month,
        0 as gross_cents,
        refunds.amount_cents as refund_cents,
        0 as payments_succeeded
    from refunds

),

movements_by_country as (

    select
        money_movements.tenant_id,
        money_movements.revenue_month,
        coalesce(user_countries.country_code, 'ZZ') as country_code,
        money_movements.user_id,
        money_movements.gross_cents,
        money_movements.refund_cents,
        money_movements.payments_succeeded
    from money_movements
    inner join months
        on money_movements.tenant_id = months.tenant_id
        and money_movements.revenue_month = months.period_start
    left join user_countries
        on money_movements.tenant_id = user_countries.tenant_id
        and money_movements.user_id = user_countries.user_id

),

country_months as (

    select
        tenant_id,
        revenue_month,
        country_code,
        sum(payments_succeeded) as payments_succeeded,
        sum(gross_cents) as gross_cents,
        sum(refund_cents) as refund_cents,
        count(distinct user_id) filter (where payments_succeeded = 1) as unique_payers
    from movements_by_country
    group by tenant_id, revenue_month, country_code

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(revenue_month as date) as revenue_month,
        cast(country_code as text) as country,
        cast(payments_succeeded as integer) as payments_succeeded,
        {{ cents_to_money('gross_cents') }} as gross_revenue,
        {{ cents_to_money('refund_cents') }} as refunds,
        {{ cents_to_money('gross_cents - refund_cents') }} as net_revenue,
        cast(unique_payers as integer) as unique_payers,
        -- the tenant's gross of the month: the sum over its countries
        {{ safe_rate('gross_cents', 'sum(gross_cents) over (partition by tenant_id, revenue_month)') }}
            as share_of_gross_rate
    from country_months

)

select * from final
