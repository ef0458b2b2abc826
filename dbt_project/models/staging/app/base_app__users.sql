{{ config(materialized='table') }}

with

landed_users as (

    select
        {{ source_columns('app__users') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'app__users') }}
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
        landed_users.*,
        {{ row_hash(source_columns('app__users'), 'landed_users') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_users.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'signup_at']),
            implausible_timestamp(['signup_at', 'deleted_at', 'updated_at']),
            invalid_enum({'platform': ['ios', 'android', 'web']}),
        ]) }} as reasons
    from landed_users
    left join tenants
        on landed_users.tenant_id = tenants.known_tenant_id

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
