{#- The batches of a raw table (source_name, table_name) with rows that an
    incremental base model treats as landed since its last build: the window
    ends after the latest updated_at of the model's rows (which lies before
    the last build's instant), or the batch was loaded at or after the
    model's latest batch. Every batch loaded after
    the last build is among them (a few before it too: harmless, their rows
    are validated again). Expects the CTEs batches (base_audit__batch_windows) and
    last_build (updated_at, loaded_at) of changed_landed_versions; emits a
    complete select statement of batch_id. -#}
{% macro landed_batches_since_build(source_name, table_name) -%}
    select batches.batch_id
    from batches
    where
        batches.source = '{{ source_name }}'
        and batches.table_name = '{{ table_name }}'
        and batches.landed > 0
        and (
            batches.window_end > (select last_build.updated_at from last_build)
            or batches.loaded_at >= (select last_build.loaded_at from last_build)
        )
{%- endmacro %}
