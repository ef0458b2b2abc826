{#- The select list of a contracted model's final CTE: every column the model's
    YAML declares, in the YAML's order, cast to its declared data_type from the
    same-named column of `relation` (a CTE that computed the values), as
    `cast(<relation>.<column> as <type>) as <column>`. The YAML stays the one
    copy of the column list and types; the SQL computes values only. Fails
    compilation when a column has no data_type, and in a dbt unit test (dbt renders
    the model there without its YAML columns). -#}
{% macro cast_to_model_contract(relation) -%}
    {#- at parse time the YAML's columns are not attached to the node yet: nothing to render -#}
    {%- if not execute -%}{{ return(relation ~ '.*') }}{%- endif -%}
    {#- a unit test renders the model in a manifest of its own, whose node has none of the model's YAML columns -#}
    {%- if model['resource_type'] == 'unit_test' -%}
        {{ exceptions.raise_compiler_error(
            "cast_to_model_contract: unit test " ~ model['name'] ~ " renders its model without the YAML columns;"
            ~ " a model with dbt unit tests keeps its cast list in its final CTE"
        ) }}
    {%- endif -%}
    {%- set columns = model['columns'].values() | list -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error("cast_to_model_contract: " ~ model['name'] ~ " declares no columns") }}
    {%- endif -%}
    {%- for column in columns %}
        {%- if not column['data_type'] -%}
            {{ exceptions.raise_compiler_error("cast_to_model_contract: " ~ model['name'] ~ "." ~ column['name'] ~ " has no data_type") }}
        {%- endif %}
        cast({{ relation }}.{{ column['name'] }} as {{ column['data_type'] }}) as {{ column['name'] }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
