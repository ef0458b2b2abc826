{#- Generic test: in each partition, ordered by order_by, the column equals the
    previous row's previous_column (0 on the first row), e.g. a month's starting_mrr
    is the previous month's ending_mrr. Failing rows are returned. -#}
{% test continues_previous_row(model, column_name, previous_column, partition_by, order_by) %}

with

rows_with_previous as (

    select
        {{ column_name }} as checked_value,
        coalesce(
            lag({{ previous_column }}) over (partition by {{ partition_by }} order by {{ order_by }}),
            0
        ) as expected_value,
        *
    from {{ model }}

)

select * from rows_with_previous
where checked_value <> expected_value

{% endtest %}
