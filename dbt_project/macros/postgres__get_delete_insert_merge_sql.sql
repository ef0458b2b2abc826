{#- dbt's delete+insert with one addition: the staged rows (a temporary table
    PostgreSQL has no statistics for) are analyzed first. Without statistics the
    planner takes the staged keys for 200 distinct values of an unknown table
    and deletes through a hash join over a scan of the whole target table (2 M
    rows of base_app__events to delete nothing); with them, an index scan per
    staged key: the delete costs what the new rows touch, not the history.
    Found first in the root project, dispatch uses it for every delete+insert
    model. -#}
{% macro postgres__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    analyze {{ source }};
    {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
{%- endmacro %}
