{#- Invariant across models: fct_daily_kpis.mrr on a month's last day equals
    fct_monthly_revenue.ending_mrr of that month. For the as-of month (still
    running) the "last day" is the as-of date, matching fct_monthly_revenue, whose
    as-of month ends at the end of the as-of date. Returns one row per tenant and
    month where the values differ or the daily row is missing. -#}

with

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

daily_kpis as (

    select * from {{ ref('fct_daily_kpis') }}

),

month_end_dates as (

    select
        tenant_id,
        revenue_month,
        ending_mrr,
        least(
            cast(revenue_month + interval '1 month' - interval '1 day' as date),
            {{ as_of_date() }}
        ) as month_end_date
    from monthly_revenue

),

compared as (

    select
        month_end_dates.tenant_id,
        month_end_dates.revenue_month,
        month_end_dates.month_end_date,
        month_end_dates.ending_mrr,
        daily_kpis.mrr as month_end_daily_mrr,
        daily_kpis.kpi_date is null as is_missing_daily_row
    from month_end_dates
    left join daily_kpis
        on month_end_dates.tenant_id = daily_kpis.tenant_id
        and month_end_dates.month_end_date = daily_kpis.kpi_date

),

violations as (

    select * from compared
    where is_missing_daily_row
        or month_end_daily_mrr is distinct from ending_mrr

)

select * from violations
