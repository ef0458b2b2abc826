{#- One row per CRM proposal created by the end of the as-of date, with the
    outcome definitions of the sales marts: won = status accepted, lost =
    status rejected or expired, each counted in the month of decided_at
    (decision_month) when decided_at is before the end of the as-of date; a
    decided status without decided_at counts in no month. The sales cycle of a
    won proposal is decided_at − its lead's created_at in days (fractional;
    null when the lead is not an accepted lead of the tenant). rep_id is the
    owner_id, '(unassigned)' when it is missing, so every proposal has a rep. -#}

with

proposals as (

    select * from {{ ref('stg_crm__proposals') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

classified as (

    select
        proposals.tenant_id,
        proposals.id as proposal_id,
        proposals.lead_id,
        coalesce(nullif(proposals.owner_id, ''), '(unassigned)') as rep_id,
        proposals.amount_cents,
        proposals.win_probability,
        proposals.status,
        proposals.created_at,
        proposals.decided_at,
        leads.created_at as lead_created_at,
        proposals.status = 'accepted'
        and coalesce(proposals.decided_at < {{ as_of_end() }}, false) as is_won,
        proposals.status in ('rejected', 'expired')
        and coalesce(proposals.decided_at < {{ as_of_end() }}, false) as is_lost
    from proposals
    left join leads
        on proposals.tenant_id = leads.tenant_id
        and proposals.lead_id = leads.id
    -- the proposals created by the end of the as-of date
    where proposals.created_at < {{ as_of_end() }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(proposal_id as text) as proposal_id,
        cast(lead_id as text) as lead_id,
        cast(rep_id as text) as rep_id,
        cast(amount_cents as bigint) as amount_cents,
        cast(win_probability as numeric) as win_probability,
        cast(status as text) as status,
        cast(created_at as timestamptz) as created_at,
        cast(decided_at as timestamptz) as decided_at,
        {{ truncate_to_period("'month'", utc_date('created_at')) }} as created_month,
        case
            when is_won or is_lost then {{ truncate_to_period("'month'", utc_date('decided_at')) }}
        end as decision_month,
        cast(is_won as boolean) as is_won,
        cast(is_lost as boolean) as is_lost,
        cast(lead_created_at as timestamptz) as lead_created_at,
        case
            when is_won then cast(extract(epoch from decided_at - lead_created_at) / 86400 as numeric)
        end as sales_cycle_days
    from classified

)

select * from final
