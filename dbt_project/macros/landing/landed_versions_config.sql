{#- The config of a base model built by changed_landed_versions: incremental,
    delete+insert on id, the keyless rows cleared first, and the indexes its
    incremental reads probe (id, batch, updated_at, tenant, plus the column
    that references another landed table, if any). -#}
{% macro landed_versions_config(reference_column=none) -%}
    {%- set indexes = [
        {'columns': ['id']},
        {'columns': ['_batch_id']},
        {'columns': ['updated_at']},
        {'columns': ['tenant_id']},
    ] -%}
    {%- if reference_column -%}
        {%- do indexes.append({'columns': [reference_column]}) -%}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'id',
        'on_schema_change': 'fail',
        'pre_hook': '{{ delete_keyless_landed_rows() }}',
        'indexes': indexes,
    }) }}
{%- endmacro %}
