{#- Sales per tenant and month (docs/metrics.md fct_sales_monthly), one row per
    month of int_sales_months (the tenant's covered range, extended back to its
    first CRM lead or proposal), zeros in months without activity. Lead
    measures are by the UTC month of the lead's created_at, except
    leads_qualified (month of qualified_at); lead_qualification_rate is the
    fraction of the month's new leads qualified by the end of the as-of date;
    avg_hours_to_first_contact averages first_contact_at − created_at over the
    month's new leads that have been contacted. Proposal outcomes come from
    int_proposals_classified (won = accepted, lost = rejected or expired, by
    the month of decided_at; avg_deal_size and avg_sales_cycle_days over the
    month's won proposals), the month-end pipeline from
    int_proposals_open_monthly (proposals open at the month's end instant).
    Timestamps after the end of the as-of date count nowhere. -#}

with

sales_months as (

    select * from {{ ref('int_sales_months') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

proposals as (

    select * from {{ ref('int_proposals_classified') }}

),

open_proposals as (

    select * from {{ ref('int_proposals_open_monthly') }}

),

visible_leads as (

    select
        tenant_id,
        created_at,
        score,
        case when qualified_at < {{ as_of_end() }} then qualified_at end as qualified_at,
        case when first_contact_at < {{ as_of_end() }} then first_contact_at end as first_contact_at
    from leads
    where created_at < {{ as_of_end() }}

),

leads_created as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", utc_date('created_at')) }} as sales_month,
        count(*) as leads_created,
        count(qualified_at) as leads_created_qualified,
        avg(score) as avg_lead_score,
        avg(extract(epoch from first_contact_at - created_at) / 3600) as avg_hours_to_first_contact
    from visible_leads
    group by tenant_id, {{ truncate_to_period("'month'", utc_date('created_at')) }}

),

leads_qualified as (

    select
        tenant_id,
        {{ truncate_to_period("'month'", utc_date('qualified_at')) }} as sales_month,
        count(*) as leads_qualified
    from visible_leads
    where qualified_at is not null
    group by tenant_id, {{ truncate_to_period("'month'", utc_date('qualified_at')) }}

),

proposals_created as (

    select
        tenant_id,
        created_month as sales_month,
        count(*) as proposals_created
    from proposals
    group by tenant_id, created_month

),

proposals_decided as (

    select
        tenant_id,
        decision_month as sales_month,
        count(*) filter (where is_won) as proposals_won,
        count(*) filter (where is_lost) as proposals_lost,
        avg(amount_cents) filter (where is_won) as avg_deal_size_cents,
        avg(sales_cycle_days) filter (where is_won) as avg_sales_cycle_days
    from proposals
    where decision_month is not null
    group by tenant_id, decision_month

),

month_end_pipeline as (

    select
        tenant_id,
        sales_month,
        count(*) as open_proposals,
        sum(amount_cents) as pipeline_cents,
        sum(weighted_amount_cents) as weighted_pipeline_cents
    from open_proposals
    group by tenant_id, sales_month

),

joined as (

    {{ spine_with_measures('sales_months', 'sales_month', {
        'leads_created': ['leads_created', 'leads_created_qualified'],
        'leads_qualified': ['leads_qualified'],
        'proposals_created': ['proposals_created'],
        'proposals_decided': ['proposals_won', 'proposals_lost'],
        'month_end_pipeline': ['open_proposals', 'pipeline_cents', 'weighted_pipeline_cents'],
    }, spine_period_column='sales_month', nullable_measures={
        'leads_created': ['avg_lead_score', 'avg_hours_to_first_contact'],
        'proposals_decided': ['avg_deal_size_cents', 'avg_sales_cycle_days'],
    }) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(sales_month as date) as sales_month,
        cast(leads_created as integer) as leads_created,
        cast(leads_qualified as integer) as leads_qualified,
        {{ safe_rate('leads_created_qualified', 'leads_created') }} as lead_qualification_rate,
        cast(round(avg_lead_score, 2) as numeric(6, 2)) as avg_lead_score,
        cast(proposals_created as integer) as proposals_created,
        cast(proposals_won as integer) as proposals_won,
        cast(proposals_lost as integer) as proposals_lost,
        {{ win_rate('proposals_won', 'proposals_lost') }} as win_rate,
        {{ cents_to_money('pipeline_cents') }} as pipeline_value,
        {{ cents_to_money('weighted_pipeline_cents') }} as weighted_pipeline,
        {{ cents_to_money('avg_deal_size_cents') }} as avg_deal_size,
        cast(round(avg_sales_cycle_days, 2) as numeric(10, 2)) as avg_sales_cycle_days,
        cast(round(avg_hours_to_first_contact, 2) as numeric(10, 2)) as avg_hours_to_first_contact,
        cast(open_proposals as integer) as open_proposals
    from joined

)

select * from final
