{#- Reason `unknown_tenant`: tenant_id is null or not a known organization id.
    known_tenant_column is the join result (null when no organization matched). -#}
{% macro unknown_tenant(tenant_id_column, known_tenant_column) -%}
    case when {{ tenant_id_column }} is null or {{ known_tenant_column }} is null then 'unknown_tenant' end
{%- endmacro %}
