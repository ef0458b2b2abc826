{#- Invoices (docs/metrics.md fct_payment_retries_monthly): one row per (tenant_id,
    invoice_id) over the payment attempts created by the end of the as-of date that
    carry an invoice_id; a payment without invoice_id is not an invoice (it has no
    retries to follow) and is left out. Attempts are ordered by attempt_number, then
    created_at, then payment id (docs/sources.md: the attempts of one invoice count up
    attempt_number). The invoice's first attempt is the first in that order; its
    created_at gives invoice_month. has_failure: any attempt failed. is_recovered:
    a succeeded attempt (status succeeded or refunded) comes after the first failed
    one, i.e. a failure, then a success. -#}

with

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

invoice_attempts as (

    select
        tenant_id,
        invoice_id,
        created_at,
        is_succeeded,
        is_failed,
        row_number() over (
            partition by tenant_id, invoice_id
            order by attempt_number, created_at, payment_id
        ) as attempt_sequence
    from payment_attempts
    where invoice_id is not null

),

invoices as (

    select
        tenant_id,
        invoice_id,
        min(created_at) filter (where attempt_sequence = 1) as first_attempt_at,
        count(*) as attempts,
        count(*) filter (where is_failed) as failed_attempts,
        count(*) filter (where is_succeeded) as succeeded_attempts,
        min(attempt_sequence) filter (where is_failed) as first_failure_sequence,
        max(attempt_sequence) filter (where is_succeeded) as last_success_sequence
    from invoice_attempts
    group by tenant_id, invoice_id

),

final as (

    select
        tenant_id,
        invoice_id,
        first_attempt_at,
        {{ truncate_to_period("'month'", utc_date('first_attempt_at')) }} as invoice_month,
        attempts,
        failed_attempts,
        succeeded_attempts,
        failed_attempts > 0 as has_failure,
        coalesce(last_success_sequence > first_failure_sequence, false) as is_recovered
    from invoices

)

select * from final
