{#- The first day of the period (grain 'day', 'week' = Monday, 'month', 'quarter',
    'year') holding a date. grain_expression is SQL: a quoted literal such as
    "'week'" or a text column. -#}
{% macro truncate_to_period(grain_expression, date_expression) -%}
    cast(date_trunc({{ grain_expression }}, cast({{ date_expression }} as timestamp)) as date)
{%- endmacro %}
