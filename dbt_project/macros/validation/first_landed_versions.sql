{#- A select of the first landed version of every id of an append-only table:
    first_version_id and first_row_hash, the content of the id's earliest landed
    row (in landing_order, ties broken by _row_hash), whatever that row's own
    validity. relation holds landed rows with id and _row_hash (on an
    incremental run: the rows already in the table for the new ids, with the
    new rows). Rows without an id have no version. -#}
{% macro first_landed_versions(relation, landing_order) -%}
    select distinct on ({{ relation }}.id)
        {{ relation }}.id as first_version_id,
        {{ relation }}._row_hash as first_row_hash
    from {{ relation }}
    where {{ relation }}.id is not null and {{ relation }}.id <> ''
    order by {{ relation }}.id, {{ landing_order }}, {{ relation }}._row_hash
{%- endmacro %}
