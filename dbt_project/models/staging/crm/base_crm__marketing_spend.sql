{#-
    Marketing spend (crm.marketing_spend, docs/sources.md "marketing") as landed,
    one row a version; stg_crm__marketing_spend keeps the current one per id.
    stg_crm__marketing_spend. An amount_cents (bigint) beyond the marts'
    money type, numeric(14,2), i.e. more than 99,999,999,999,999 cents, is
    out_of_range. channel has no fixed list: it takes the values of
    users.acquisition_channel, whatever they are.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'crm__marketing_spend',
    required=['id', 'tenant_id', 'spend_date', 'channel', 'amount_cents', 'currency'],
    timestamps=['spend_date', 'updated_at'],
    rules=[
        negative_amount(['amount_cents']),
        currency_mismatch('landed_marketing_spend.currency', 'tenants.tenant_currency'),
        out_of_range('landed_marketing_spend.amount_cents > 99999999999999'),
    ],
) }}
