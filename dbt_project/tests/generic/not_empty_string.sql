{#- Fails for every row whose text column is the empty string (or only
    whitespace when trim_whitespace, the default). Nulls pass: pair with not_null. -#}
{% test not_empty_string(model, column_name, trim_whitespace=true) %}

with

empty_values as (

    select {{ column_name }} as value
    from {{ model }}
    where {{ 'btrim(' ~ column_name ~ ')' if trim_whitespace else column_name }} = ''

)

select * from empty_values

{% endtest %}
