{#-
    Refunds (billing.refunds) in every landed version; stg_billing__refunds
    keeps the current one per id.
    payment_id must name a payment landed by the as-of date in the row's
    own tenant (any status), or the row is an orphan_reference.
-#}
{{ config(**landed_versions_config('payment_id')) }}

{{ changed_landed_versions(
    'billing__refunds',
    required=['id', 'tenant_id', 'payment_id', 'amount_cents', 'created_at'],
    timestamps=['created_at', 'updated_at'],
    rules=[
        negative_amount(['amount_cents']),
        orphan_reference('landed_refunds.payment_id', 'known_payments.known_payment_id'),
    ],
    reference={'model': 'base_billing__payments', 'entity': 'payment'},
) }}
