{#-
    Landed versions of billing.plans, the price lists subscriptions are charged
    at; stg_billing__plans keeps the current one per id.
-#}
{{ config(**landed_versions_config()) }}

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
