{{ config(materialized='table') }}

with

landed_organizations as (

    select
        {{ source_columns('app__organizations') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'app__organizations') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows
    where updated_at < {{ as_of_end() }}

),

validated as (

    select
        landed_organizations.*,
        {{ row_hash(source_columns('app__organizations'), 'landed_organizations') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('tenant_id', "case when tenant_id = id then id end"),
            missing_required(['id', 'tenant_id']),
            implausible_timestamp(['created_at', 'updated_at']),
        ]) }} as reasons
    from landed_organizations

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
