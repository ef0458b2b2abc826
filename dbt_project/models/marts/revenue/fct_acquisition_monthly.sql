{#- Acquisition cost and lifetime value per tenant, month and acquisition
    channel (docs/metrics.md fct_acquisition_monthly).

    channel: users.acquisition_channel ('unknown' when null or empty), the
    same values the marketing_spend source uses. Rows: every month of the
    tenant's covered range (tenant_spine) × every channel the tenant has users
    or spend in by the as-of date, zeros where nothing happened.

    - spend: stg_crm__marketing_spend amounts with spend_date in the month
      (up to the as-of date); spend before the tenant's covered range has no
      month to land in.
    - new_users: users who signed up in the month (signup_at before the as-of
      instant); new_paying_users: of those, the ones whose first_paid_at
      (int_customer_milestones: MRR > 0 for the first time) is before the
      as-of instant, whenever in that span.
    - cac: spend / new_paying_users (null when no paying user).
    - avg_revenue_per_paying_user_month (tenant-wide, the same for every
      channel): fct_monthly_revenue net_revenue over the trailing 12 months
      (this month and the 11 before, fewer at the start of the range) /
      paying user-months over them (Σ paying_customers, customers with MRR > 0
      at each month end).
    - gross_margin_rate: var gross_margin_rate (default 1.0).
    - monthly_churn_rate (tenant-wide): the mean of the monthly logo churn
      rates (churned_customers / paying customers at the start of the month,
      as fct_monthly_revenue.logo_churn_rate, unrounded) over this month and
      the 2 before, months without paying customers at the start left out.
    - ltv: predicted_ltv (the project's one definition, as
      fct_monthly_revenue.ltv) of avg_revenue_per_paying_user_month ×
      gross_margin_rate / monthly_churn_rate; null when churn is 0 or null.
    - ltv_cac_ratio: ltv / cac and payback_months: cac /
      (avg_revenue_per_paying_user_month × gross_margin_rate), from ltv (the
      macro's, rounded to the cent) and the unrounded other figures, rounded
      to 2 decimals; null when a denominator is 0 or null. -#}

with

months as (

    {{ tenant_spine('month') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

customer_milestones as (

    select * from {{ ref('int_customer_milestones') }}

),

marketing_spend as (

    select * from {{ ref('stg_crm__marketing_spend') }}

),

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

signups as (

    select
        users.tenant_id,
        {{ acquisition_channel('users.acquisition_channel') }} as channel,
        {{ truncate_to_period("'month'", utc_date('users.signup_at')) }} as acquisition_month,
        coalesce(customer_milestones.first_paid_at < {{ as_of_end() }}, false) as has_paid
    from users
    left join customer_milestones
        on users.tenant_id = customer_milestones.tenant_id
        and users.id = customer_milestones.user_id
    where users.signup_at < {{ as_of_end() }}

),

monthly_signups as (

    select
        tenant_id,
        acquisition_month,
        channel,
        count(*) as new_users,
        count(*) filter (where has_paid) as new_paying_users
    from signups
    group by tenant_id, acquisition_month, channel

),

monthly_spend as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", 'spend_date') }} as acquisition_month,
        {{ acquisition_channel('channel') }} as channel,
        sum(amount_cents) as spend_cents
    from marketing_spend
    where spend_date <= {{ as_of_date() }}
    group by
        tenant_id,
        {{ truncate_to_period("'month'", 'spend_date') }},
        {{ acquisition_channel('channel') }}

),

tenant_channels as (

    select
        tenant_id,
        channel
    from monthly_signups
    union
    select
        tenant_id,
        channel
    from monthly_spend

),

month_channel_grid as (

    {{ spine_per_series('months', 'tenant_channels', ['channel'], 'acquisition_month') }}

),

monthly_churn as (

    select
        tenant_id,
        revenue_month,
        net_revenue,
        paying_customers,
        cast(churned_customers as numeric)
        / nullif(lag(paying_customers) over (partition by tenant_id order by revenue_month), 0) as logo_churn_rate
    from monthly_revenue

),

tenant_unit_economics as (

    select
        tenant_id,
        revenue_month,
        sum(net_revenue) over trailing_12_months as trailing_net_revenue,
        sum(paying_customers) over trailing_12_months as trailing_paying_user_months,
        sum(net_revenue) over trailing_12_months
        / nullif(sum(paying_customers) over trailing_12_months, 0) as revenue_per_paying_user_month,
        avg(logo_churn_rate) over trailing_3_months as monthly_churn_rate
    from monthly_churn
    window
        trailing_12_months as (partition by tenant_id order by revenue_month rows between 11 preceding and current row),
        trailing_3_months as (partition by tenant_id order by revenue_month rows between 2 preceding and current row)

),

joined as (

    select
        month_channel_grid.tenant_id,
        month_channel_grid.acquisition_month,
        month_channel_grid.channel,
        coalesce(monthly_spend.spend_cents, 0) / 100.0 as spend,
        {{ measures_or_zero('monthly_signups', ['new_users', 'new_paying_users']) }},
        tenant_unit_economics.trailing_net_revenue,
        tenant_unit_economics.trailing_paying_user_months,
        tenant_unit_economics.revenue_per_paying_user_month,
        tenant_unit_economics.monthly_churn_rate,
        cast({{ var('gross_margin_rate') }} as numeric) as gross_margin_rate
    from month_channel_grid
    left join monthly_signups
        on month_channel_grid.tenant_id = monthly_signups.tenant_id
        and month_channel_grid.acquisition_month = monthly_signups.acquisition_month
        and month_channel_grid.channel = monthly_signups.channel
    left join monthly_spend
        on month_channel_grid.tenant_id = monthly_spend.tenant_id
        and month_channel_grid.acquisition_month = monthly_spend.acquisition_month
        and month_channel_grid.channel = monthly_spend.channel
    left join tenant_unit_economics
        on month_channel_grid.tenant_id = tenant_unit_economics.tenant_id
        and month_channel_grid.acquisition_month = tenant_unit_economics.revenue_month

),

unit_economics as (

    select
        *,
        spend / nullif(new_paying_users, 0) as cac_unrounded,
        {{ predicted_ltv(
            'trailing_net_revenue', 'trailing_paying_user_months', 'monthly_churn_rate', '1', 'gross_margin_rate'
        ) }} as ltv
    from joined

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(acquisition_month as date) as acquisition_month,
        cast(channel as text) as channel,
        cast(round(spend, 2) as numeric(14, 2)) as spend,
        cast(new_users as integer) as new_users,
        cast(new_paying_users as integer) as new_paying_users,
        cast(round(cac_unrounded, 2) as numeric(14, 2)) as cac,
        cast(round(revenue_per_paying_user_month, 2) as numeric(14, 2)) as avg_revenue_per_paying_user_month,
        cast(round(gross_margin_rate, 4) as numeric(7, 4)) as gross_margin_rate,
        cast(round(monthly_churn_rate, 4) as numeric(7, 4)) as monthly_churn_rate,
        ltv,
        cast(round(ltv / nullif(cac_unrounded, 0), 2) as numeric(12, 2)) as ltv_cac_ratio,
        cast(
            round(cac_unrounded / nullif(revenue_per_paying_user_month * gross_margin_rate, 0), 2) as numeric(12, 2)
        ) as payback_months
    from unit_economics

)

select * from final
