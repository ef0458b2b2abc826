{#- Reason `currency_mismatch`: the row's currency differs from its tenant
    organization's currency (compared when both are known). -#}
{% macro currency_mismatch(currency_column, tenant_currency_column) -%}
    case when {{ currency_column }} <> {{ tenant_currency_column }} then 'currency_mismatch' end
{%- endmacro %}
