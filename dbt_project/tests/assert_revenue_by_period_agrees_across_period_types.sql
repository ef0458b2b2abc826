{#- fct_revenue_by_period: for every tenant, each week / month / quarter / year row
    equals the sums of total_revenue, refund_amount, refund_count, net_revenue,
    payment_count and payment_success_count over the day rows inside it
    (period_start <= day < period_end), and its mrr equals the mrr of its last day
    row; every such period has day rows, and every day row lies in exactly one
    period of each type. Returns the violating rows with the reason. -#}

with

revenue_by_period as (

    select * from {{ ref('fct_revenue_by_period') }}

),

periods as (

    select * from revenue_by_period
    where period_type <> 'day'

),

days as (

    select * from revenue_by_period
    where period_type = 'day'

),

day_rollups as (

    select
        periods.tenant_id,
        periods.period_type,
        periods.period_start,
        count(days.period_start) as day_rows,
        sum(days.total_revenue) as total_revenue,
        sum(days.refund_amount) as refund_amount,
        sum(days.refund_count) as refund_count,
        sum(days.net_revenue) as net_revenue,
        sum(days.payment_count) as payment_count,
        sum(days.payment_success_count) as payment_success_count,
        (array_agg(days.mrr order by days.period_start desc))[1] as last_day_mrr
    from periods
    left join days
        on periods.tenant_id = days.tenant_id
        and periods.period_start <= days.period_start
        and periods.period_end > days.period_start
    group by periods.tenant_id, periods.period_type, periods.period_start

),

period_mismatches as (

    select
        periods.tenant_id,
        periods.period_type,
        periods.period_start,
        case
            when day_rollups.day_rows = 0 then 'no day rows in the period'
            when not coalesce(periods.total_revenue = day_rollups.total_revenue, false) then 'total_revenue'
            when not coalesce(periods.refund_amount = day_rollups.refund_amount, false) then 'refund_amount'
            when not coalesce(periods.refund_count = day_rollups.refund_count, false) then 'refund_count'
            when not coalesce(periods.net_revenue = day_rollups.net_revenue, false) then 'net_revenue'
            when not coalesce(periods.payment_count = day_rollups.payment_count, false) then 'payment_count'
            when not coalesce(periods.payment_success_count = day_rollups.payment_success_count, false)
                then 'payment_success_count'
            when not coalesce(periods.mrr = day_rollups.last_day_mrr, false) then 'mrr differs from the last day'
        end as reason
    from periods
    inner join day_rollups
        on periods.tenant_id = day_rollups.tenant_id
        and periods.period_type = day_rollups.period_type
        and periods.period_start = day_rollups.period_start

),

day_coverage as (

    -- each day row lies in exactly one period of each coarser type
    select
        days.tenant_id,
        grains.period_type,
        days.period_start,
        count(periods.period_start) as containing_periods
    from days
    cross join (values ('week'), ('month'), ('quarter'), ('year')) as grains (period_type)
    left join periods
        on days.tenant_id = periods.tenant_id
        and grains.period_type = periods.period_type
        and days.period_start >= periods.period_start
        and days.period_start < periods.period_end
    group by days.tenant_id, grains.period_type, days.period_start

),

final as (

    select * from period_mismatches
    where reason is not null

    union all

    select
        tenant_id,
        period_type,
        period_start,
        'day row in ' || containing_periods || ' periods of this type' as reason
    from day_coverage
    where containing_periods <> 1

)

select * from final
