{#- The UTC calendar date of a timestamptz expression, whatever the session's
    time zone: every *_date in the marts is computed with it. -#}
{% macro utc_date(timestamp_expression) -%}
    cast(({{ timestamp_expression }}) at time zone 'UTC' as date)
{%- endmacro %}
