{#- The end of a UTC calendar day as an instant: 00:00 UTC of the next day. "At
    the end of day d" means the state of every event with occurred_at strictly
    before this instant. -#}
{% macro utc_day_end(date_expression) -%}
    (cast(({{ date_expression }}) + 1 as timestamp) at time zone 'UTC')
{%- endmacro %}
