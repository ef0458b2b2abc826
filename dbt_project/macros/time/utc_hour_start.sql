{#- The first instant (timestamptz) of the UTC hour holding a timestamptz
    expression, whatever the session's time zone: the hour_start of the hourly
    marts. -#}
{% macro utc_hour_start(timestamp_expression) -%}
    date_trunc('hour', {{ timestamp_expression }} at time zone 'UTC') at time zone 'UTC'
{%- endmacro %}
