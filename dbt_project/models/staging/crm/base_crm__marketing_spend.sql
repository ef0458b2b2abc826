{#-
    Every landed version of crm.marketing_spend (docs/sources.md "marketing") whose
    updated_at is before the end of the as-of date, validated against
    docs/sources.md: reasons lists every rule the row breaks (required spend_date,
    channel, amount_cents and currency; negative_amount, currency_mismatch,
    implausible_timestamp on spend_date and updated_at; out_of_range for an
    amount_cents (bigint) beyond the marts' money type, numeric(14,2), i.e.
    more than 99,999,999,999,999 cents), row_status says
    whether it is accepted, quarantined or a duplicate (same id and content as
    a row landed earlier), is_current marks the latest accepted version of its
    id, the row stg_crm__marketing_spend keeps. channel has no fixed list: it
    takes the values of users.acquisition_channel, whatever they are.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_spend as (

    select
        {{ source_columns('crm__marketing_spend') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'crm__marketing_spend') }}
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

validated as (

    select
        landed_spend.*,
        {{ row_hash(source_columns('crm__marketing_spend'), 'landed_spend') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_spend.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'spend_date', 'channel', 'amount_cents', 'currency'], source_column_types('crm__marketing_spend')),
            implausible_timestamp(['spend_date', 'updated_at']),
            negative_amount(['amount_cents']),
            currency_mismatch('landed_spend.currency', 'tenants.tenant_currency'),
            out_of_range('landed_spend.amount_cents > 99999999999999'),
        ]) }} as reasons
    from landed_spend
    left join tenants
        on landed_spend.tenant_id = tenants.known_tenant_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
