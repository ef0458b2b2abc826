{#- Reason `invalid_json`: the JSON column holds something other than an object
    (JSON null counts as null), or the line it came from was malformed
    (is_malformed_expression: an event-file line that is not a JSON object or
    has a field of the wrong type). -#}
{% macro invalid_json(json_column, is_malformed_expression='false') -%}
    case when {{ is_malformed_expression }} or jsonb_typeof({{ json_column }}) not in ('object', 'null') then 'invalid_json' end
{%- endmacro %}
