{#- The pipeline at each month end: one row per tenant, sales month
    (int_sales_months) and proposal open at the month's end instant
    (month_end_at: the next month's start, or the end of the as-of date), by
    the proposal_is_open_at rule: created before it and still a draft or sent,
    or decided at or after it. Amount and win_probability are the proposal's
    latest version landed by the as-of date (staging keeps no older version),
    so a past month's weighted pipeline uses today's probability. -#}

with

sales_months as (

    select * from {{ ref('int_sales_months') }}

),

proposals as (

    select * from {{ ref('int_proposals_classified') }}

),

open_proposals as (

    select
        sales_months.tenant_id,
        sales_months.sales_month,
        proposals.proposal_id,
        proposals.rep_id,
        proposals.status,
        proposals.amount_cents,
        proposals.win_probability
    from sales_months
    inner join proposals
        on sales_months.tenant_id = proposals.tenant_id
        and {{ proposal_is_open_at('sales_months.month_end_at', 'proposals') }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(sales_month as date) as sales_month,
        cast(proposal_id as text) as proposal_id,
        cast(rep_id as text) as rep_id,
        cast(status as text) as status,
        cast(amount_cents as bigint) as amount_cents,
        cast(win_probability as numeric) as win_probability,
        cast(amount_cents * win_probability as numeric) as weighted_amount_cents
    from open_proposals

)

select * from final
