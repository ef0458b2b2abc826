{#- Collect validation checks (each a SQL expression that yields its reason code
    or null, see the validation macros) into a text[] of the codes that apply,
    each once, in the order given; '{}' when the row is valid. -#}
{% macro reason_codes(checks) -%}
    array_remove(array[
        {%- for check in checks %}
        {{ check }}{{ ',' if not loop.last }}
        {%- endfor %}
    ]::text[], null)
{%- endmacro %}
