{#- Fails for every row where the SQL boolean expression is not true (false or
    null). Works on a model or on a column (the column name is then prefixed to
    the expression, e.g. expression: ">= 0"); restrict rows with dbt's own
    `config: where:`. -#}
{% test expression_is_true(model, expression, column_name=none) %}

with

failing_rows as (

    select *
    from {{ model }}
    where not coalesce({{ column_name ~ ' ' if column_name else '' }}{{ expression }}, false)

)

select * from failing_rows

{% endtest %}
