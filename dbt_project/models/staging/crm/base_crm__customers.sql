{#-
    Landed versions of crm.customers; stg_crm__customers keeps the current one
    per id.
    A health_score outside 0–100 is out_of_range: dim_customers enforces that
    range and the health bands assume it.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'crm__customers',
    required=['id', 'tenant_id', 'status', 'created_at'],
    timestamps=['created_at', 'churned_at', 'updated_at'],
    rules=[
        invalid_enum({'segment': ['smb', 'mid_market', 'enterprise'], 'status': ['onboarding', 'active', 'at_risk', 'churned']}),
        out_of_range('landed_customers.health_score not between 0 and 100'),
    ],
) }}
