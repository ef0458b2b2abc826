{#- Fails for every non-null value of the column (or expression) outside
    [min_value, max_value]; either bound may be omitted; inclusive=false makes
    both bounds exclusive. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("accepted_range on " ~ model ~ "." ~ column_name ~ ": give min_value, max_value or both") }}
{%- endif %}

with

out_of_range as (

    select {{ column_name }} as value
    from {{ model }}
    where {{ column_name }} is not null
        and (
            false
            {%- if min_value is not none %}
            or not ({{ column_name }} {{ '>=' if inclusive else '>' }} {{ min_value }})
            {%- endif %}
            {%- if max_value is not none %}
            or not ({{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }})
            {%- endif %}
        )

)

select * from out_of_range

{% endtest %}
