{#-
    Landed versions of billing.webhook_deliveries; the current one per id is
    stg_billing__webhook_deliveries.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'billing__webhook_deliveries',
    required=['id', 'tenant_id', 'event_type', 'status', 'attempts', 'created_at'],
    timestamps=['created_at', 'delivered_at', 'updated_at'],
    rules=[
        invalid_enum({'status': ['pending', 'delivered', 'failed']}),
    ],
) }}
