{#- Monthly revenue per tenant (docs/metrics.md fct_monthly_revenue), one row per tenant
    and month of its covered range (tenant_spine), zeros in months without activity.
    The MRR bridge sums fct_mrr_movements, whose amounts are customer month-end MRR
    already rounded to the cent, so ending = starting + new + expansion +
    reactivation − contraction − churned holds exactly. The as-of month's "end" is the
    end of the as-of date. Payments and refunds come from int_revenue_daily (each on
    its own date). Rates are null when their denominator is 0; ltv is
    arpu / logo_churn_rate computed exactly (the macro predicted_ltv). -#}

with

months as (

    {{ tenant_spine('month') }}

),

mrr_movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

revenue as (

    select * from {{ ref('int_revenue_daily') }}

),

monthly_mrr as (

    select
        tenant_id,
        revenue_month,
        sum(previous_mrr) as starting_mrr,
        {{ mrr_movement_amounts() }},
        sum(mrr) as ending_mrr,
        count(*) filter (where mrr > 0) as paying_customers,
        count(*) filter (where previous_mrr > 0) as starting_paying_customers,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers
    from mrr_movements
    group by tenant_id, revenue_month

),

monthly_payments as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", 'revenue_date') }} as revenue_month,
        sum(gross_revenue_cents) as gross_revenue_cents,
        sum(refund_cents) as refund_cents,
        sum(net_revenue_cents) as net_revenue_cents,
        sum(payments_attempted) as payments_attempted,
        sum(payments_succeeded) as payments_succeeded,
        sum(refund_count) as refund_count
    from revenue
    group by tenant_id, {{ truncate_to_period("'month'", 'revenue_date') }}

),

joined as (

    {{ spine_with_measures('months', 'revenue_month', {
        'monthly_mrr': [
            'starting_mrr', 'new_mrr', 'expansion_mrr', 'reactivation_mrr', 'contraction_mrr', 'churned_mrr',
            'ending_mrr', 'paying_customers', 'starting_paying_customers', 'new_customers', 'churned_customers',
            'reactivated_customers',
        ],
        'monthly_payments': [
            'gross_revenue_cents', 'refund_cents', 'net_revenue_cents', 'payments_attempted', 'payments_succeeded',
            'refund_count',
        ],
    }) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(revenue_month as date) as revenue_month,
        cast(starting_mrr as numeric(14, 2)) as starting_mrr,
        cast(new_mrr as numeric(14, 2)) as new_mrr,
        cast(expansion_mrr as numeric(14, 2)) as expansion_mrr,
        cast(reactivation_mrr as numeric(14, 2)) as reactivation_mrr,
        cast(contraction_mrr as numeric(14, 2)) as contraction_mrr,
        cast(churned_mrr as numeric(14, 2)) as churned_mrr,
        cast(ending_mrr as numeric(14, 2)) as ending_mrr,
        cast(ending_mrr - starting_mrr as numeric(14, 2)) as net_new_mrr,
        cast(ending_mrr * 12 as numeric(14, 2)) as arr,
        cast(paying_customers as integer) as paying_customers,
        cast(new_customers as integer) as new_customers,
        cast(churned_customers as integer) as churned_customers,
        cast(reactivated_customers as integer) as reactivated_customers,
        {{ safe_rate('churned_customers', 'starting_paying_customers') }} as logo_churn_rate,
        {{ safe_rate('contraction_mrr + churned_mrr', 'starting_mrr') }} as gross_mrr_churn_rate,
        {{ safe_rate(
            'starting_mrr + expansion_mrr - contraction_mrr - churned_mrr', 'starting_mrr', 'numeric(9, 4)'
        ) }} as net_mrr_retention_rate,
        cast(round(ending_mrr / nullif(paying_customers, 0), 2) as numeric(14, 2)) as arpu,
        {{ predicted_ltv('ending_mrr', 'paying_customers', 'churned_customers', 'starting_paying_customers') }}
            as ltv,
        {{ cents_to_money('gross_revenue_cents') }} as gross_revenue,
        {{ cents_to_money('refund_cents') }} as refunds,
        {{ cents_to_money('net_revenue_cents') }} as net_revenue,
        cast(payments_attempted as integer) as payments_attempted,
        cast(payments_succeeded as integer) as payments_succeeded,
        cast(refund_count as integer) as refund_count
    from joined

)

select * from final
