{#- Reason `negative_amount`: any of the money columns (integer cents) is below zero. -#}
{% macro negative_amount(columns) -%}
    case when
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} < 0
        {%- endfor %}
    then 'negative_amount' end
{%- endmacro %}
