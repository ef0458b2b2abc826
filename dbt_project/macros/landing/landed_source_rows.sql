{#- The select of a base_ staging model's landed rows: the source columns of
    raw_table with _batch_id and _loaded_at, as landed in raw, of the rows
    visible at the as-of date by their extraction key (extraction_key_visible). -#}
{% macro landed_source_rows(raw_table, key_column='updated_at') -%}
    select
        {{ source_columns(raw_table) | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', raw_table) }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where {{ extraction_key_visible(key_column) }}
{%- endmacro %}
