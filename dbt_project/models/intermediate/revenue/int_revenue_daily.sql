{#- Revenue and payment counts per tenant and UTC day, each on its own date
    (docs/metrics.md "Succeeded payment"): payments_attempted on the created_at date;
    gross_revenue_cents and payments_succeeded on the succeeded date (settled_at);
    refund_cents and refund_count on the refund's created_at. Net revenue =
    gross − refunds. Sparse: only days with at least one of these. -#}

with

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

refunds as (

    select * from {{ ref('int_refunds_attributed') }}

),

daily_parts as (

    select
        tenant_id,
        payment_date as revenue_date,
        count(*) as payments_attempted,
        0 as payments_succeeded,
        0 as gross_revenue_cents,
        0 as refund_count,
        0 as refund_cents
    from payment_attempts
    group by tenant_id, payment_date

    union all

    select
        tenant_id,
        succeeded_date as revenue_date,
        0 as payments_attempted,
        count(*) as payments_succeeded,
        sum(amount_cents) as gross_revenue_cents,
        0 as refund_count,
        0 as refund_cents
    from payment_attempts
    where is_succeeded
    group by tenant_id, succeeded_date

    union all

    select
        tenant_id,
        refund_date as revenue_date,
        0 as payments_attempted,
        0 as payments_succeeded,
        0 as gross_revenue_cents,
        count(*) as refund_count,
        sum(amount_cents) as refund_cents
    from refunds
    group by tenant_id, refund_date

),

final as (

    select
        tenant_id,
        revenue_date,
        cast(sum(payments_attempted) as bigint) as payments_attempted,
        cast(sum(payments_succeeded) as bigint) as payments_succeeded,
        cast(sum(gross_revenue_cents) as bigint) as gross_revenue_cents,
        cast(sum(refund_count) as bigint) as refund_count,
        cast(sum(refund_cents) as bigint) as refund_cents,
        cast(sum(gross_revenue_cents) - sum(refund_cents) as bigint) as net_revenue_cents
    from daily_parts
    group by tenant_id, revenue_date

)

select * from final
