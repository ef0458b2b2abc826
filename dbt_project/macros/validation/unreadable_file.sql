{#- Reason `unreadable_file`: the row is the one landed row of an event file
    that could not be decompressed or decoded (line number 0; the loader puts
    the read error in raw _error and nothing else of the file lands). -#}
{% macro unreadable_file(line_number_column) -%}
    case when {{ line_number_column }} = 0 then 'unreadable_file' end
{%- endmacro %}
