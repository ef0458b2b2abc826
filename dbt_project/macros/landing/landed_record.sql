{#- The row as landed, as a JSON object keyed by its source column names (the
    audit.quarantine record). -#}
{% macro landed_record(columns, relation_alias=none) -%}
    jsonb_build_object(
        {%- for column in columns %}
        '{{ column }}', {{ relation_alias ~ '.' if relation_alias else '' }}{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
