{#- The period number of a date relative to a period start (a Monday for 'week', a
    1st of the month for 'month'): 0 for the period starting at start_date, n for
    the week start_date + 7n days or the month start_date + n months, negative
    before it. grain_expression is SQL ('week' / 'month' literal or a text column). -#}
{% macro periods_between(grain_expression, start_date_expression, date_expression) -%}
    (case {{ grain_expression }}
        when 'week' then cast(floor((({{ date_expression }}) - ({{ start_date_expression }})) / 7.0) as integer)
        when 'month' then cast(
            (extract(year from {{ date_expression }}) * 12 + extract(month from {{ date_expression }}))
            - (extract(year from {{ start_date_expression }}) * 12 + extract(month from {{ start_date_expression }}))
            as integer)
    end)
{%- endmacro %}
