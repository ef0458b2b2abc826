{#-
    Every landed version of crm.leads; the current one per id is what
    stg_crm__leads keeps.
    A score outside 0–100 is out_of_range: the marts' average score and health
    bands hold only that range.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'crm__leads',
    required=['id', 'tenant_id', 'created_at'],
    timestamps=['created_at', 'first_contact_at', 'qualified_at', 'converted_at', 'updated_at'],
    rules=[
        invalid_enum({'status': ['new', 'contacted', 'qualified', 'unqualified', 'converted']}),
        out_of_range('landed_leads.score not between 0 and 100'),
    ],
) }}
