{#-
    Payment attempts (billing.payments) in every landed version;
    stg_billing__payments keeps the current version of each id.
    subscription_id is optional; when set it must name a subscription with an
    event landed by the as-of date in the row's own tenant, or the row is an
    orphan_reference.
-#}
{{ config(**landed_versions_config('subscription_id')) }}

{{ changed_landed_versions(
    'billing__payments',
    required=['id', 'tenant_id', 'user_id', 'amount_cents', 'currency', 'method', 'status', 'attempt_number', 'created_at'],
    timestamps=['created_at', 'settled_at', 'updated_at'],
    rules=[
        invalid_enum({'method': ['card', 'wallet', 'bank_transfer', 'crypto'], 'status': ['pending', 'succeeded', 'failed', 'refunded']}),
        negative_amount(['amount_cents']),
        currency_mismatch('landed_payments.currency', 'tenants.tenant_currency'),
        orphan_reference('landed_payments.subscription_id', 'known_subscriptions.known_subscription_id'),
    ],
    reference={'model': 'base_billing__subscription_events', 'entity': 'subscription', 'id_column': 'subscription_id'},
) }}
