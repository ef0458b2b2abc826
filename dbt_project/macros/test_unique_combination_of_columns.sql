{#- Generic test: no two rows of the model share the same values of the given
    columns (a mart's grain). Pair it with not_null on each grain column. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grain_values as (

    select {{ combination_of_columns | join(', ') }}
    from {{ model }}

),

duplicates as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as rows_with_these_values
    from grain_values
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicates

{% endtest %}
