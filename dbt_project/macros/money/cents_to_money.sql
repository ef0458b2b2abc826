{#- Integer (or fractional) cents to the marts' money type: numeric(14,2) in the
    tenant's currency, rounded half away from zero to the cent. -#}
{% macro cents_to_money(cents_expression) -%}
    cast(round(cast({{ cents_expression }} as numeric) / 100, 2) as numeric(14, 2))
{%- endmacro %}
