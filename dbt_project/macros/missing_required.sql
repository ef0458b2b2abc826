{#- Reason `missing_required`: any of the required columns is null or empty. -#}
{% macro missing_required(columns) -%}
    case when
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} is null or cast({{ column }} as text) = ''
        {%- endfor %}
    then 'missing_required' end
{%- endmacro %}
