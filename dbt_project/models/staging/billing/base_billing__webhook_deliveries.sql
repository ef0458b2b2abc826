{#-
    Every landed version of billing.webhook_deliveries whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_billing__webhook_deliveries keeps.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_webhook_deliveries as (

    select
        {{ source_columns('billing__webhook_deliveries') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'billing__webhook_deliveries') }}
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

validated as (

    select
        landed_webhook_deliveries.*,
        {{ row_hash(source_columns('billing__webhook_deliveries'), 'landed_webhook_deliveries') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_webhook_deliveries.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'event_type', 'status', 'attempts', 'created_at'], source_column_types('billing__webhook_deliveries')),
            implausible_timestamp(['created_at', 'delivered_at', 'updated_at']),
            invalid_enum({'status': ['pending', 'delivered', 'failed']}),
        ]) }} as reasons
    from landed_webhook_deliveries
    left join tenants
        on landed_webhook_deliveries.tenant_id = tenants.known_tenant_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
