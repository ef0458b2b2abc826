{#-
    Landed versions of billing.webhook_deliveries; the current one per id is
    stg_billing__webhook_deliveries.
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
    'billing__webhook_deliveries',
    required=['id', 'tenant_id', 'event_type', 'status', 'attempts', 'created_at'],
    timestamps=['created_at', 'delivered_at', 'updated_at'],
    rules=[
        invalid_enum({'status': ['pending', 'delivered', 'failed']}),
    ],
) }}
