{{ config(materialized='table') }}

with

landed_customers as (

    select
        {{ source_columns('crm__customers') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'crm__customers') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows
    where updated_at < {{ as_of_end() }}

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
            missing_required(['id', 'tenant_id', 'status', 'created_at']),
            implausible_timestamp(['created_at', 'churned_at', 'updated_at']),
            invalid_enum({'segment': ['smb', 'mid_market', 'enterprise'], 'status': ['onboarding', 'active', 'at_risk', 'churned']}),
        ]) }} as reasons
    from landed_customers
    left join tenants
        on landed_customers.tenant_id = tenants.known_tenant_id

),

classified as (

    select
        validated.*,
        {{ row_status('_loaded_at, _batch_id') }} as row_status
    from validated

),

final as (

    select
        classified.*,
        -- staging keeps the latest accepted version of each id
        {{ is_current_version('updated_at desc, _loaded_at desc, _batch_id desc, _row_hash') }} as is_current
    from classified

)

select * from final
