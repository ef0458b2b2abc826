{#- Reason `invalid_enum`: a non-null value outside its column's list of values.
    accepted_values: {column: [values]}. Null is not an enum violation (a required
    column that is null is `missing_required`). -#}
{% macro invalid_enum(accepted_values) -%}
    case when
        {%- for column, values in accepted_values.items() %}
        {{ 'or ' if not loop.first }}{{ column }} not in ({% for value in values %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor %})
        {%- endfor %}
    then 'invalid_enum' end
{%- endmacro %}
