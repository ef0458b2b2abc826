{#- Reason `missing_required`: any of the required columns is null, or empty
    (''). Give column_types (source_column_types) so only text columns get the
    emptiness test: casting timestamps to text to compare with '' is costly on
    millions of rows. Without it every column is cast to text and compared. -#}
{% macro missing_required(columns, column_types=none) -%}
    case when
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} is null
        {%- if column_types is none %} or cast({{ column }} as text) = ''
        {%- else %}
        {%- set column_type = column_types[column.split('.')[-1]] %}
        {%- if column_type == 'text' or column_type.startswith('char') %} or {{ column }} = ''{% endif %}
        {%- endif %}
        {%- endfor %}
    then 'missing_required' end
{%- endmacro %}
