{#- Customer MRR movements over every period type (docs/metrics.md fct_revenue_by_period):
    one row per customer, period_type (day, week, month, quarter, year) and period in
    which the customer's end-of-day MRR changed on some day, with mrr at the period's
    end (the end of its last day; for the period holding the as-of date, the end of
    the as-of date), previous_mrr at its start (the previous period's end) and the
    movement, classified by the one macro mrr_movement as in fct_mrr_movements:
    reactivation needs MRR > 0 at some month end before the period's start (as
    fct_mrr_movements decides it), whatever the period type.

    Sparse on purpose: a period without an MRR change of the customer has mrr =
    previous_mrr, so it moves nothing. Over the periods with a change, the value at a
    period's start is the value at the end of the customer's previous changed period
    (nothing changed in between). For period_type month this gives the movements of
    fct_mrr_movements. -#}

with

customer_mrr_changes as (

    select * from {{ ref('int_customer_mrr_daily') }}

),

customer_mrr_monthly as (

    select * from {{ ref('int_customer_mrr_monthly') }}

),

first_paying_month_ends as (

    -- the first month end at which the customer's MRR was > 0 (the as-of month's row,
    -- measured on the as-of date, is never before a period's start)
    select
        tenant_id,
        user_id,
        min(measured_on_date) as first_paying_month_end_date
    from customer_mrr_monthly
    where mrr > 0
    group by tenant_id, user_id

),

period_types as (

    select period_type
    from (values ('day'), ('week'), ('month'), ('quarter'), ('year')) as grains (period_type)

),

changes_in_periods as (

    select
        customer_mrr_changes.tenant_id,
        customer_mrr_changes.user_id,
        period_types.period_type,
        {{ truncate_to_period('period_types.period_type', 'customer_mrr_changes.mrr_date') }} as period_start,
        customer_mrr_changes.mrr_date,
        customer_mrr_changes.mrr
    from customer_mrr_changes
    cross join period_types
    where customer_mrr_changes.mrr_date <= {{ as_of_date() }}

),

period_ends as (

    -- the last change of the period holds at its end
    select distinct on (tenant_id, user_id, period_type, period_start)
        tenant_id,
        user_id,
        period_type,
        period_start,
        mrr
    from changes_in_periods
    order by tenant_id asc, user_id asc, period_type asc, period_start asc, mrr_date desc

),

with_previous as (

    select
        period_ends.tenant_id,
        period_ends.user_id,
        period_ends.period_type,
        period_ends.period_start,
        period_ends.mrr,
        cast(coalesce(lag(period_ends.mrr) over customer_periods_in_order, 0) as numeric(14, 2)) as previous_mrr,
        coalesce(
            first_paying_month_ends.first_paying_month_end_date < period_ends.period_start, false
        ) as was_paying_at_earlier_month_end
    from period_ends
    left join first_paying_month_ends
        on period_ends.tenant_id = first_paying_month_ends.tenant_id
        and period_ends.user_id = first_paying_month_ends.user_id
    window customer_periods_in_order as (
        partition by period_ends.tenant_id, period_ends.user_id, period_ends.period_type
        order by period_ends.period_start
    )

),

final as (

    select
        tenant_id,
        user_id,
        period_type,
        period_start,
        mrr,
        previous_mrr,
        cast(mrr - previous_mrr as numeric(14, 2)) as mrr_change,
        {{ mrr_movement('mrr', 'previous_mrr', 'was_paying_at_earlier_month_end') }} as movement
    from with_previous
    where mrr <> previous_mrr

)

select * from final
