{#- One row per CRM customer (crm.customers: the businesses the tenant's sales team
    sells to) created by the end of the as-of date, with its current status and
    health score (the latest accepted version, stg_crm__customers), the health band
    of fct_customer_health_daily (health_band macro), and what the CRM knows of
    how it was won: the lead it converted from (source, created_at, owning sales
    rep) and the amount of that lead's accepted proposals (contract_amount).

    No plan or MRR: CRM customers carry no key to billing (no user or subscription
    id; billing customers are app users, see dim_users.current_mrr), so nothing
    links them without guessing. A customer without lead_id (or whose lead is not
    accepted) has null lead attributes and contract_amount. -#}

with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

proposals as (

    select * from {{ ref('stg_crm__proposals') }}

),

sales_reps as (

    select * from {{ ref('stg_crm__sales_reps') }}

),

accepted_proposals as (

    select
        tenant_id,
        lead_id,
        count(*) as accepted_proposals,
        sum(amount_cents) as contract_amount_cents,
        max(decided_at) as won_at
    from proposals
    where status = 'accepted'
    group by tenant_id, lead_id

),

final as (

    select
        cast(customers.tenant_id as text) as tenant_id,
        cast(customers.id as text) as customer_id,
        cast(customers.name as text) as customer_name,
        cast(customers.segment as text) as segment,
        cast(customers.status as text) as status,
        cast(customers.health_score as integer) as health_score,
        cast({{ health_band('customers.health_score') }} as text) as health_band,
        customers.status = 'churned' as is_churned,
        cast(customers.created_at as timestamptz) as created_at,
        {{ utc_date('customers.created_at') }} as created_date,
        cast(customers.churned_at as timestamptz) as churned_at,
        cast(
            coalesce({{ utc_date('customers.churned_at') }}, {{ as_of_date() }})
            - {{ utc_date('customers.created_at') }}
            as integer
        ) as tenure_days,
        cast(customers.lead_id as text) as lead_id,
        cast(leads.source as text) as lead_source,
        cast(leads.created_at as timestamptz) as lead_created_at,
        cast(leads.owner_id as text) as sales_rep_id,
        cast(sales_reps.name as text) as sales_rep_name,
        cast(accepted_proposals.won_at as timestamptz) as won_at,
        {{ cents_to_money('accepted_proposals.contract_amount_cents') }} as contract_amount,
        cast(customers.updated_at as timestamptz) as updated_at
    from customers
    left join leads
        on customers.tenant_id = leads.tenant_id
        and customers.lead_id = leads.id
    left join sales_reps
        on leads.tenant_id = sales_reps.tenant_id
        and leads.owner_id = sales_reps.id
    left join accepted_proposals
        on customers.tenant_id = accepted_proposals.tenant_id
        and customers.lead_id = accepted_proposals.lead_id
    where customers.created_at < {{ as_of_end() }}

)

select * from final
