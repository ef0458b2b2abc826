{#- Revenue per tenant and period (docs/metrics.md fct_revenue_by_period), one row per
    tenant, period_type (day, week, month, quarter, year) and period of the tenant's
    covered range (tenant_spine of each grain), zeros in periods without activity.

    Day measures come from int_revenue_daily (each on its own date: succeeded
    payments on settled_at, refunds on their created_at, payment attempts on
    created_at); a longer period is the sum of its days, so every rollup agrees
    with the day rows (assert_revenue_by_period_agrees_across_period_types).
    new_revenue is not additive: per period type, it sums the succeeded payments of
    the period whose payer's first succeeded payment (int_payer_first_payments) is
    in the same period, so a payer's second payment a week after the first is new
    revenue of the month but not of the second week.

    period_end is the tenant_spine's: exclusive, the next period's start. mrr is
    the tenant's MRR (sum of customer MRR, int_customer_mrr_daily) at the end of the
    period's last day; for the period holding the as-of date, which has not ended,
    at the end of the as-of date (mrr_measured_on_date says which day). arr = mrr × 12.
    The MRR movements over a period (new, expansion, reactivation, contraction and
    churned MRR, the last two as positive amounts) sum the customer movements of
    int_customer_mrr_period_movements (customer MRR at the period's end vs its start,
    classified as in fct_mrr_movements), so mrr = previous period's mrr + new +
    expansion + reactivation − contraction − churned.
    A table: the coarse periods need all their days anyway, and it reads only the
    sparse revenue intermediates. -#}

{#- the measures of int_revenue_daily, on the day rows and summed into the longer periods -#}
{%- set day_measure_columns = [
    'gross_revenue_cents', 'refund_cents', 'refund_count', 'net_revenue_cents', 'payments_attempted', 'payments_succeeded'
] -%}

with

revenue_daily as (

    select * from {{ ref('int_revenue_daily') }}

),

customer_mrr_changes as (

    select * from {{ ref('int_customer_mrr_daily') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

payer_first_payments as (

    select * from {{ ref('int_payer_first_payments') }}

),

customer_period_movements as (

    select * from {{ ref('int_customer_mrr_period_movements') }}

),

{{ tenant_spines_by_period_type(['day', 'week', 'month', 'quarter', 'year']) }}

period_types as (

    select period_type
    from (values ('day'), ('week'), ('month'), ('quarter'), ('year')) as grains (period_type)

),

daily_mrr_changes as (

    select
        tenant_id,
        mrr_date as revenue_date,
        sum(mrr_change) as mrr_change
    from customer_mrr_changes
    group by tenant_id, mrr_date

),

day_measures as (

    {{ spine_with_measures('days', 'revenue_date', {
        'revenue_daily': day_measure_columns,
        'daily_mrr_changes': ['mrr_change'],
    }) }}

),

daily as (

    -- every covered day with its measures and the tenant's MRR at the end of the day
    select
        *,
        sum(mrr_change) over (
            partition by tenant_id
            order by revenue_date
            rows between unbounded preceding and current row
        ) as mrr
    from day_measures

),

period_sums as (

    select
        daily.tenant_id,
        period_types.period_type,
        {{ truncate_to_period('period_types.period_type', 'daily.revenue_date') }} as period_start,
        sum(daily.gross_revenue_cents) as gross_revenue_cents,
        sum(daily.refund_cents) as refund_cents,
        sum(daily.refund_count) as refund_count,
        sum(daily.net_revenue_cents) as net_revenue_cents,
        sum(daily.payments_attempted) as payments_attempted,
        sum(daily.payments_succeeded) as payments_succeeded
    from daily
    cross join period_types
    group by
        daily.tenant_id,
        period_types.period_type,
        {{ truncate_to_period('period_types.period_type', 'daily.revenue_date') }}

),

succeeded_payment_periods as (

    -- every succeeded payment by the as-of date, in its period of each type, with the
    -- period (of that type) of its payer's first succeeded payment
    select
        payment_attempts.tenant_id,
        period_types.period_type,
        payment_attempts.amount_cents,
        {{ truncate_to_period('period_types.period_type', 'payment_attempts.succeeded_date') }} as period_start,
        {{ truncate_to_period('period_types.period_type', 'payer_first_payments.first_payment_date') }}
            as first_payment_period_start
    from payment_attempts
    inner join payer_first_payments
        on payment_attempts.tenant_id = payer_first_payments.tenant_id
        and payment_attempts.user_id = payer_first_payments.user_id
    cross join period_types
    where
        payment_attempts.is_succeeded
        and payment_attempts.succeeded_date <= {{ as_of_date() }}

),

period_new_revenue as (

    -- new revenue: the payments in the same period as their payer's first payment
    select
        tenant_id,
        period_type,
        period_start,
        sum(amount_cents) as new_revenue_cents
    from succeeded_payment_periods
    where period_start = first_payment_period_start
    group by tenant_id, period_type, period_start

),

period_mrr_movements as (

    select
        tenant_id,
        period_type,
        period_start,
        {{ mrr_movement_amounts() }}
    from customer_period_movements
    group by tenant_id, period_type, period_start

),

period_measures as (

    {{ spine_with_measures('periods', 'period_start', {
        'period_sums': day_measure_columns,
        'period_new_revenue': ['new_revenue_cents'],
        'period_mrr_movements': ['new_mrr', 'expansion_mrr', 'reactivation_mrr', 'contraction_mrr', 'churned_mrr'],
    }, keys=['period_type'], spine_columns=['period_end']) }}

),

joined as (

    -- with the tenant's MRR at the end of the period's last day, or of the as-of date
    select
        period_measures.*,
        {{ period_last_covered_date('period_measures.period_end') }} as mrr_measured_on_date,
        period_measures.period_end <= {{ as_of_date() }} + 1 as is_complete,
        coalesce(period_end_mrr.mrr, 0) as mrr
    from period_measures
    left join daily as period_end_mrr
        on period_measures.tenant_id = period_end_mrr.tenant_id
        and {{ period_last_covered_date('period_measures.period_end') }} = period_end_mrr.revenue_date

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(period_type as text) as period_type,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        {{ cents_to_money('gross_revenue_cents') }} as total_revenue,
        {{ cents_to_money('refund_cents') }} as refund_amount,
        cast(refund_count as integer) as refund_count,
        {{ cents_to_money('net_revenue_cents') }} as net_revenue,
        cast(payments_attempted as integer) as payment_count,
        cast(payments_succeeded as integer) as payment_success_count,
        {{ cents_to_money('new_revenue_cents') }} as new_revenue,
        cast(mrr as numeric(14, 2)) as mrr,
        cast(mrr * 12 as numeric(14, 2)) as arr,
        cast(mrr_measured_on_date as date) as mrr_measured_on_date,
        cast(is_complete as boolean) as is_complete,
        cast(new_mrr as numeric(14, 2)) as new_mrr,
        cast(expansion_mrr as numeric(14, 2)) as expansion_mrr,
        cast(reactivation_mrr as numeric(14, 2)) as reactivation_mrr,
        cast(contraction_mrr as numeric(14, 2)) as contraction_mrr,
        cast(churned_mrr as numeric(14, 2)) as churned_mrr
    from joined

)

select * from final
