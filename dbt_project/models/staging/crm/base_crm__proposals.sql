{#-
    Landed versions of crm.proposals, the current one per id kept by
    stg_crm__proposals.
    A win_probability outside 0–1 is out_of_range: the weighted pipeline
    (amount × probability) is money and must stay within the amount. lead_id
    must name a lead landed by the as-of date in the row's own tenant (any
    status), or the row is an orphan_reference.
-#}
{{ config(**landed_versions_config('lead_id')) }}

{{ changed_landed_versions(
    'crm__proposals',
    required=['id', 'tenant_id', 'lead_id', 'amount_cents', 'status', 'created_at'],
    timestamps=['created_at', 'sent_at', 'decided_at', 'updated_at'],
    rules=[
        invalid_enum({'status': ['draft', 'sent', 'accepted', 'rejected', 'expired']}),
        negative_amount(['amount_cents']),
        orphan_reference('landed_proposals.lead_id', 'known_leads.known_lead_id'),
        out_of_range('landed_proposals.win_probability not between 0 and 1'),
    ],
    reference={'model': 'base_crm__leads', 'entity': 'lead'},
) }}
