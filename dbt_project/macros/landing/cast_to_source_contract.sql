{#- The select list of a stg_ staging model: every source column of raw_table
    cast to its contract type (source_column_types), in source order, as
    `cast(<column> as <type>) as <column>`. -#}
{% macro cast_to_source_contract(raw_table) -%}
    {%- for column, type in source_column_types(raw_table).items() %}
        cast({{ column }} as {{ type }}) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
