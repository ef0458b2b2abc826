{#- Reason `out_of_range`: the row holds a value no mart can represent, given
    as a SQL condition that is true for such a row (null is in range). -#}
{% macro out_of_range(condition) -%}
    case when {{ condition }} then 'out_of_range' end
{%- endmacro %}
