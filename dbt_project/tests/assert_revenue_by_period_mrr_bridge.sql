{#- fct_revenue_by_period, for every tenant and period type: each period's mrr equals
    the previous period's mrr (0 before the first) + new + expansion + reactivation −
    contraction − churned MRR, and the month rows' movements equal fct_monthly_revenue's
    for the same month. Returns the violating rows with the reason. -#}

with

revenue_by_period as (

    select * from {{ ref('fct_revenue_by_period') }}

),

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

with_previous as (

    select
        *,
        coalesce(lag(mrr) over (partition by tenant_id, period_type order by period_start), 0) as previous_mrr
    from revenue_by_period

),

bridge_violations as (

    select
        tenant_id,
        period_type,
        period_start,
        'mrr differs from previous mrr + movements' as reason
    from with_previous
    where mrr <> previous_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr

),

month_violations as (

    select
        revenue_by_period.tenant_id,
        revenue_by_period.period_type,
        revenue_by_period.period_start,
        'month movements differ from fct_monthly_revenue' as reason
    from revenue_by_period
    inner join monthly_revenue
        on revenue_by_period.tenant_id = monthly_revenue.tenant_id
        and revenue_by_period.period_start = monthly_revenue.revenue_month
    where
        revenue_by_period.period_type = 'month'
        and (
            revenue_by_period.new_mrr <> monthly_revenue.new_mrr
            or revenue_by_period.expansion_mrr <> monthly_revenue.expansion_mrr
            or revenue_by_period.reactivation_mrr <> monthly_revenue.reactivation_mrr
            or revenue_by_period.contraction_mrr <> monthly_revenue.contraction_mrr
            or revenue_by_period.churned_mrr <> monthly_revenue.churned_mrr
        )

),

final as (

    select * from bridge_violations
    union all
    select * from month_violations

)

select * from final
