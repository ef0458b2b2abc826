{#- Three CTEs for an incremental mart built per tenant: `tenants` (those of
    the CTE `days`), `built_tenants` (those already in the table; none on a full
    refresh) and `tenants_flagged` (tenant_id, is_new_series: not in the table
    yet, so its whole covered range is built). Emits the CTEs followed by a
    comma. -#}
{% macro tenants_new_to_table() -%}
tenants as (

    select distinct tenant_id
    from days

),

built_tenants as (

    -- the tenants already in the table (none on a full refresh: every tenant is new)
    {%- if is_incremental() %}
    select distinct tenant_id
    from {{ this }}
    {%- else %}
    select tenant_id
    from tenants
    where false
    {%- endif %}

),

tenants_flagged as (

    select
        tenants.tenant_id,
        built_tenants.tenant_id is null as is_new_series
    from tenants
    left join built_tenants
        on tenants.tenant_id = built_tenants.tenant_id

),
{%- endmacro %}
