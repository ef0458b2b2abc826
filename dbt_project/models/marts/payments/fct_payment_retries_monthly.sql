{#- Payment retries per tenant and month (docs/metrics.md fct_payment_retries_monthly),
    over the invoices of int_payment_invoices (attempts sharing invoice_id; payments
    without invoice_id are not invoices) whose first attempt is in the month, every
    later attempt included wherever it falls. One row per month of the tenant's
    covered range (tenant_spine), zeros in months without invoices.
    invoices_with_failure: an attempt failed; recovered: a failure, then a success;
    unrecovered = invoices_with_failure − recovered (still failing or pending);
    recovery_rate = recovered / invoices_with_failure; avg_attempts = attempts per
    invoice (null without invoices). -#}

with

months as (

    {{ tenant_spine('month') }}

),

invoices as (

    select * from {{ ref('int_payment_invoices') }}

),

monthly_invoices as (

    select
        tenant_id,
        invoice_month,
        count(*) as invoices,
        count(*) filter (where has_failure) as invoices_with_failure,
        count(*) filter (where is_recovered) as recovered,
        sum(attempts) as attempts
    from invoices
    group by tenant_id, invoice_month

),

joined as (

    {{ spine_with_measures('months', 'invoice_month', {
        'monthly_invoices': ['invoices', 'invoices_with_failure', 'recovered', 'attempts'],
    }) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(invoice_month as date) as invoice_month,
        cast(invoices as integer) as invoices,
        cast(invoices_with_failure as integer) as invoices_with_failure,
        cast(recovered as integer) as recovered,
        cast(invoices_with_failure - recovered as integer) as unrecovered,
        {{ safe_rate('recovered', 'invoices_with_failure') }} as recovery_rate,
        cast(round(attempts / nullif(cast(invoices as numeric), 0), 2) as numeric(10, 2)) as avg_attempts,
        cast(attempts as integer) as attempts
    from joined

)

select * from final
