{#- One row per organization id landed at the as-of date (from
    base_app__organizations) with the currency of its latest landed version:
    what unknown_tenant and currency_mismatch check against. Columns:
    known_tenant_id, tenant_currency. -#}
{% macro known_tenants(organizations_relation) -%}
    select distinct on (id)
        id as known_tenant_id,
        currency as tenant_currency
    from {{ organizations_relation }}
    where id is not null and id <> ''
    order by id, updated_at desc nulls last, _loaded_at desc, _batch_id desc
{%- endmacro %}
