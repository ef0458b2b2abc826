{#-
    One row per crm.proposals id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_proposals as (

    select * from {{ ref('base_crm__proposals') }}

),

current_proposals as (

    -- the latest accepted version of each id
    select * from base_proposals
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(lead_id as text) as lead_id,
        cast(owner_id as text) as owner_id,
        cast(amount_cents as integer) as amount_cents,
        cast(win_probability as numeric) as win_probability,
        cast(status as text) as status,
        cast(created_at as timestamptz) as created_at,
        cast(sent_at as timestamptz) as sent_at,
        cast(decided_at as timestamptz) as decided_at,
        cast(updated_at as timestamptz) as updated_at
    from current_proposals

)

select * from final
