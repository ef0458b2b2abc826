{#- Failed payment attempts per tenant, month and failure_reason (docs/metrics.md
    fct_payment_failures_monthly). failure_month = first day of the UTC month of the
    attempt's created_at (as in fct_payments_daily, attempts count when they are
    made); a failed attempt without failure_reason counts as '(none)'. Rows: every
    month of the tenant's covered range (tenant_spine) × every failure_reason among
    the tenant's failed attempts by the as-of date, zeros in months without such
    failures; a tenant without failed attempts has no rows.
    share_of_failures_rate = failures / all failed attempts of the tenant in the
    month (null in a month without failures). -#}

with

months as (

    {{ tenant_spine('month') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

failed_attempts as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", 'payment_date') }} as failure_month,
        coalesce(failure_reason, '(none)') as failure_reason
    from payment_attempts
    where is_failed

),

tenant_failure_reasons as (

    select distinct
        tenant_id,
        failure_reason
    from failed_attempts

),

month_reason_grid as (

    {{ spine_per_series('months', 'tenant_failure_reasons', ['failure_reason'], 'failure_month') }}

),

monthly_failures as (

    select
        tenant_id,
        failure_month,
        failure_reason,
        count(*) as failures
    from failed_attempts
    group by tenant_id, failure_month, failure_reason

),

joined as (

    {{ spine_with_measures('month_reason_grid', 'failure_month', {
        'monthly_failures': ['failures'],
    }, keys=['failure_reason'], spine_period_column='failure_month') }}

),

with_month_totals as (

    select
        *,
        sum(failures) over (partition by tenant_id, failure_month) as month_failures
    from joined

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(failure_month as date) as failure_month,
        cast(failure_reason as text) as failure_reason,
        cast(failures as integer) as failures,
        {{ safe_rate('failures', 'month_failures') }} as share_of_failures_rate,
        cast(month_failures as integer) as month_failures
    from with_month_totals

)

select * from final
