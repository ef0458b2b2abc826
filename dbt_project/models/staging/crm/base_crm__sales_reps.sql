{#-
    Landed versions of crm.sales_reps, kept current per id by stg_crm__sales_reps.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='id',
    on_schema_change='fail',
    pre_hook="{{ delete_keyless_landed_rows() }}",
    indexes=[
        {'columns': ['id']},
        {'columns': ['_batch_id']},
        {'columns': ['updated_at']},
        {'columns': ['tenant_id']},
    ],
) }}

{{ changed_landed_versions(
    'crm__sales_reps',
    required=['id', 'tenant_id'],
    timestamps=['updated_at'],
) }}
