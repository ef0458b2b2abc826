{#- The source column names of a raw table (`<source>__<table>`), in order
    (see source_column_types). Base models select and hash them, the quarantine
    builds its record from them. -#}
{% macro source_columns(raw_table) -%}
    {{ return(source_column_types(raw_table).keys() | list) }}
{%- endmacro %}
