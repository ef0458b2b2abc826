{#-
    Landed versions of crm.customers; stg_crm__customers keeps the current one
    per id.
    A health_score outside 0–100 is out_of_range: dim_customers enforces that
    range and the health bands assume it.
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
    'crm__customers',
    required=['id', 'tenant_id', 'status', 'created_at'],
    timestamps=['created_at', 'churned_at', 'updated_at'],
    rules=[
        invalid_enum({'segment': ['smb', 'mid_market', 'enterprise'], 'status': ['onboarding', 'active', 'at_risk', 'churned']}),
        out_of_range('landed_customers.health_score not between 0 and 100'),
    ],
) }}
