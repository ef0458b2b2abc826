{#-
    Every landed version of crm.proposals whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_crm__proposals keeps.
    A win_probability outside 0–1 (docs/sources.md) is out_of_range: the weighted
    pipeline (amount × probability) is money and must stay within the amount.
    lead_id must match a lead landed by the as-of date in the row's own tenant (any
    status) or the row is an orphan_reference.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_proposals as (

    select
        {{ source_columns('crm__proposals') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'crm__proposals') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where {{ extraction_key_visible('updated_at') }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

leads as (

    select * from {{ ref('base_crm__leads') }}

),

known_leads as (

    -- every lead id landed at the as-of date in each tenant, whatever its status
    select distinct
        tenant_id as lead_tenant_id,
        id as known_lead_id
    from leads
    where id is not null

),

validated as (

    select
        landed_proposals.*,
        {{ row_hash(source_columns('crm__proposals'), 'landed_proposals') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_proposals.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'lead_id', 'amount_cents', 'status', 'created_at'], source_column_types('crm__proposals')),
            implausible_timestamp(['created_at', 'sent_at', 'decided_at', 'updated_at']),
            invalid_enum({'status': ['draft', 'sent', 'accepted', 'rejected', 'expired']}),
            negative_amount(['amount_cents']),
            orphan_reference('landed_proposals.lead_id', 'known_leads.known_lead_id'),
            out_of_range('landed_proposals.win_probability not between 0 and 1'),
        ]) }} as reasons
    from landed_proposals
    left join tenants
        on landed_proposals.tenant_id = tenants.known_tenant_id
    left join known_leads
        on landed_proposals.tenant_id = known_leads.lead_tenant_id
        and landed_proposals.lead_id = known_leads.known_lead_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
