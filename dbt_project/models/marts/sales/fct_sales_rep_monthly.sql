{#- Deals per tenant, month and sales rep (docs/metrics.md fct_sales_rep_monthly).
    Rows: every month of int_sales_months × every rep of the tenant, i.e. every
    accepted sales rep (stg_crm__sales_reps) plus any other owner_id found on
    the tenant's proposals (rep_name null; a missing owner is
    '(unassigned)'), so the reps' deals add up to the tenant's in
    fct_sales_monthly; zeros in months without deals. A rep's deals are the
    proposals it owns: deals_closed = won (accepted), deals_lost = rejected or
    expired, both in the month of decided_at (int_proposals_classified);
    revenue = amounts of the won ones; win_rate = won / (won + lost). -#}

with

sales_months as (

    select * from {{ ref('int_sales_months') }}

),

sales_reps as (

    select * from {{ ref('stg_crm__sales_reps') }}

),

proposals as (

    select * from {{ ref('int_proposals_classified') }}

),

tenant_reps as (

    select
        tenant_id,
        id as rep_id,
        name as rep_name
    from sales_reps

    union

    -- owners that are not reps of the tenant still get their rows
    select distinct
        proposals.tenant_id,
        proposals.rep_id,
        null as rep_name
    from proposals
    left join sales_reps
        on proposals.tenant_id = sales_reps.tenant_id
        and proposals.rep_id = sales_reps.id
    where sales_reps.id is null

),

rep_month_grid as (

    select
        sales_months.tenant_id,
        sales_months.sales_month,
        tenant_reps.rep_id,
        tenant_reps.rep_name
    from sales_months
    inner join tenant_reps
        on sales_months.tenant_id = tenant_reps.tenant_id

),

rep_deals as (

    select
        tenant_id,
        decision_month as sales_month,
        rep_id,
        count(*) filter (where is_won) as deals_closed,
        count(*) filter (where is_lost) as deals_lost,
        coalesce(sum(amount_cents) filter (where is_won), 0) as revenue_cents
    from proposals
    where decision_month is not null
    group by tenant_id, decision_month, rep_id

),

joined as (

    {{ spine_with_measures('rep_month_grid', 'sales_month', {
        'rep_deals': ['deals_closed', 'deals_lost', 'revenue_cents'],
    }, keys=['rep_id'], spine_period_column='sales_month', spine_columns=['rep_name']) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(sales_month as date) as sales_month,
        cast(rep_id as text) as rep_id,
        cast(rep_name as text) as rep_name,
        cast(deals_closed as integer) as deals_closed,
        cast(deals_lost as integer) as deals_lost,
        {{ cents_to_money('revenue_cents') }} as revenue,
        {{ win_rate('deals_closed', 'deals_lost') }} as win_rate
    from joined

)

select * from final
