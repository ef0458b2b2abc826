{#- The relation a generic data test reads: dbt's `where` config as dbt applies
    it, narrowed on an incremental pipeline run to the rows that run touched
    when the tested model says which those are (tested_rows_condition). A full
    refresh, CI and a build by hand pass no var tested_rows_since and test every
    row. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set touched = tested_rows_condition(relation) if execute else '' -%}
    {%- if touched -%}
        {%- do conditions.append(touched) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
