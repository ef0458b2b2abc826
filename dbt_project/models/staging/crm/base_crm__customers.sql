{#-
    Every landed version of crm.customers whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_crm__customers keeps.
    A health_score outside 0–100 (docs/sources.md) is out_of_range: dim_customers
    enforces that range and the health bands assume it.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_customers as (

    select
        {{ source_columns('crm__customers') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'crm__customers') }}
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
        landed_customers.*,
        {{ row_hash(source_columns('crm__customers'), 'landed_customers') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_customers.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'status', 'created_at'], source_column_types('crm__customers')),
            implausible_timestamp(['created_at', 'churned_at', 'updated_at']),
            invalid_enum({'segment': ['smb', 'mid_market', 'enterprise'], 'status': ['onboarding', 'active', 'at_risk', 'churned']}),
            out_of_range('landed_customers.health_score not between 0 and 100'),
        ]) }} as reasons
    from landed_customers
    left join tenants
        on landed_customers.tenant_id = tenants.known_tenant_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
