{#- Reason `implausible_timestamp`: any of the timestamp columns is before 2000-01-01 UTC. -#}
{% macro implausible_timestamp(columns) -%}
    case when
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} < timestamptz '2000-01-01 00:00:00+00'
        {%- endfor %}
    then 'implausible_timestamp' end
{%- endmacro %}
