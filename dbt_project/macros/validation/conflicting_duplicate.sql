{#- Reason `conflicting_duplicate`: an append-only row whose id already landed
    with different content (its _row_hash differs from the id's first landed
    version, first_landed_versions). first_row_hash_column is the joined first
    version's hash (null when the row has no id). -#}
{% macro conflicting_duplicate(row_hash_column, first_row_hash_column) -%}
    case when {{ row_hash_column }} <> {{ first_row_hash_column }} then 'conflicting_duplicate' end
{%- endmacro %}
