{#-
    Landed versions of crm.sales_reps, kept current per id by stg_crm__sales_reps.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'crm__sales_reps',
    required=['id', 'tenant_id'],
    timestamps=['updated_at'],
) }}
