{#-
    Landed versions of billing.plans, the price lists subscriptions are charged
    at; stg_billing__plans keeps the current one per id.
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
    'billing__plans',
    required=['id', 'tenant_id', 'billing_interval', 'amount_cents', 'currency'],
    timestamps=['updated_at'],
    rules=[
        invalid_enum({'billing_interval': ['month', 'year']}),
        negative_amount(['amount_cents']),
        currency_mismatch('landed_plans.currency', 'tenants.tenant_currency'),
    ],
) }}
