{#-
    Every landed version of app.organizations whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_app__organizations keeps.
    An organization is its own tenant: tenant_id must equal id (unknown_tenant
    otherwise). The other base models check tenants and currencies against the
    organizations landed here (known_tenants).

    A table, as every base model (why: validated_landed_versions).
-#}
{{ config(materialized='table') }}

with

landed_organizations as (

    {{ landed_source_rows('app__organizations') }}

),

validated as (

    select
        landed_organizations.*,
        {{ row_hash(source_columns('app__organizations'), 'landed_organizations') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('tenant_id', "case when tenant_id = id then id end"),
            missing_required(['id', 'tenant_id'], source_column_types('app__organizations')),
            implausible_timestamp(['created_at', 'updated_at']),
        ]) }} as reasons
    from landed_organizations

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
