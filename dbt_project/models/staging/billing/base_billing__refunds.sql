{#-
    Every landed version of billing.refunds whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_billing__refunds keeps.
    payment_id must match a payment landed by the as-of date in the row's own tenant (any
    status) or the row is an orphan_reference.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_refunds as (

    select
        {{ source_columns('billing__refunds') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'billing__refunds') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where {{ extraction_key_visible('updated_at') }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

payments as (

    select * from {{ ref('base_billing__payments') }}

),

known_payments as (

    -- every payment id landed at the as-of date in each tenant, whatever its status
    select distinct
        tenant_id as payment_tenant_id,
        id as known_payment_id
    from payments
    where id is not null

),

validated as (

    select
        landed_refunds.*,
        {{ row_hash(source_columns('billing__refunds'), 'landed_refunds') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_refunds.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'payment_id', 'amount_cents', 'created_at'], source_column_types('billing__refunds')),
            implausible_timestamp(['created_at', 'updated_at']),
            negative_amount(['amount_cents']),
            orphan_reference('landed_refunds.payment_id', 'known_payments.known_payment_id'),
        ]) }} as reasons
    from landed_refunds
    left join tenants
        on landed_refunds.tenant_id = tenants.known_tenant_id
    left join known_payments
        on landed_refunds.tenant_id = known_payments.payment_tenant_id
        and landed_refunds.payment_id = known_payments.known_payment_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
