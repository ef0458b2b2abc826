{#- dbt's delete+insert with one addition: the staged rows' unique-key columns
    are analyzed first. The staged rows are a temporary table PostgreSQL has no
    statistics for: the planner takes their keys for 200 distinct values of an
    unknown table and deletes through a hash join over a scan of the whole
    target table (2 M rows of base_app__events to delete nothing); with the
    keys' statistics, an index scan per staged key, so the delete costs what
    the new rows touch, not the history. Only the key columns: analyzing every
    column of 25 k staged events costs 20 times more. Found first in the root
    project, dispatch uses it for every delete+insert model. -#}
{% macro postgres__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- if unique_key %}
    {%- set key_columns = [unique_key] if unique_key is string else unique_key %}
    analyze {{ source }} ({{ key_columns | join(', ') }});
    {%- endif %}
    {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
{%- endmacro %}
