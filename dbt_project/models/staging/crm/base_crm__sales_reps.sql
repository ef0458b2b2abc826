{#-
    Landed versions of crm.sales_reps, kept current per id by stg_crm__sales_reps.
-#}
{{ config(materialized='table') }}

{{ validated_landed_versions(
    'crm__sales_reps',
    required=['id', 'tenant_id'],
    timestamps=['updated_at'],
) }}
