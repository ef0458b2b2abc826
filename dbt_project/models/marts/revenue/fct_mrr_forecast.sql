{#- MRR forecast per tenant for the next 6 months (docs/metrics.md fct_mrr_forecast),
    from fct_monthly_revenue. The method (forecast_method = 'trailing_mean_growth'):

    1. Base month: the last complete month, i.e. the last month whose last day is
       on or before the as-of date (the as-of month itself when the as-of date is
       its last day, else the month before). base_mrr = its ending_mrr (0 when the
       tenant's covered range starts after it).
    2. History: the 6 months ending with the base month. Each month m with
       starting_mrr > 0 gives a growth rate g_m = net_new_mrr_m / starting_mrr_m;
       months with starting_mrr 0 (growth undefined) and months before the
       tenant's covered range are skipped, not replaced by earlier months, so
       history_months (0–6) may be fewer than 6.
    3. growth_rate = mean of the g_m, growth_rate_stddev = their sample standard
       deviation, both rounded to 6 decimals and used as rounded. With one month
       of history the standard deviation is 0 (nothing to estimate a spread
       from); with none, both are 0 and the projection is flat at base_mrr
       (forecast_method 'flat_no_history').
    4. For months_ahead k = 1..6 (forecast_month = base month + k months):
       forecast_mrr = base_mrr × (1 + growth_rate)^k, lower_bound_mrr =
       base_mrr × max(0, 1 + growth_rate − growth_rate_stddev)^k and
       upper_bound_mrr = base_mrr × (1 + growth_rate + growth_rate_stddev)^k
       (mean ± 1 sd compounded; never negative), each rounded to the cent.

    The projected amounts are numeric(20,2), wider than the marts' money type:
    compounding an extreme trailing growth rate (a tenant's first paying months)
    must not overflow. Every tenant with a covered range has 6 rows. When the as-of date is not a
    month's last day the first forecast month is the as-of month (in progress). -#}

with

monthly_revenue as (

    select * from {{ ref('fct_monthly_revenue') }}

),

tenants as (

    select distinct tenant_id
    from monthly_revenue

),

base_months as (

    select
        tenants.tenant_id,
        cast(
            date_trunc('month', cast({{ as_of_date() }} + 1 as timestamp)) - interval '1 month'
            as date
        ) as base_month
    from tenants

),

history as (

    select
        base_months.tenant_id,
        monthly_revenue.net_new_mrr / monthly_revenue.starting_mrr as growth_rate
    from base_months
    inner join monthly_revenue
        on base_months.tenant_id = monthly_revenue.tenant_id
        and base_months.base_month - interval '6 months' < monthly_revenue.revenue_month
        and base_months.base_month >= monthly_revenue.revenue_month
    where monthly_revenue.starting_mrr > 0

),

growth as (

    select
        tenant_id,
        count(*) as history_months,
        round(avg(growth_rate), 6) as growth_rate,
        round(coalesce(stddev_samp(growth_rate), 0), 6) as growth_rate_stddev
    from history
    group by tenant_id

),

parameters as (

    select
        base_months.tenant_id,
        base_months.base_month,
        coalesce(monthly_revenue.ending_mrr, 0) as base_mrr,
        {{ measures_or_zero('growth', ['history_months', 'growth_rate', 'growth_rate_stddev']) }}
    from base_months
    left join monthly_revenue
        on base_months.tenant_id = monthly_revenue.tenant_id
        and base_months.base_month = monthly_revenue.revenue_month
    left join growth
        on base_months.tenant_id = growth.tenant_id

),

projected as (

    select
        parameters.*,
        months_ahead.months_ahead,
        cast(parameters.base_month + months_ahead.months_ahead * interval '1 month' as date) as forecast_month,
        parameters.base_mrr * power(1 + parameters.growth_rate, months_ahead.months_ahead) as forecast_mrr,
        parameters.base_mrr * power(
            greatest(1 + parameters.growth_rate - parameters.growth_rate_stddev, 0), months_ahead.months_ahead
        ) as lower_bound_mrr,
        parameters.base_mrr * power(
            1 + parameters.growth_rate + parameters.growth_rate_stddev, months_ahead.months_ahead
        ) as upper_bound_mrr
    from parameters
    cross join generate_series(1, 6) as months_ahead (months_ahead)

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(forecast_month as date) as forecast_month,
        cast(months_ahead as integer) as months_ahead,
        cast(round(forecast_mrr, 2) as numeric(20, 2)) as forecast_mrr,
        cast(round(lower_bound_mrr, 2) as numeric(20, 2)) as lower_bound_mrr,
        cast(round(upper_bound_mrr, 2) as numeric(20, 2)) as upper_bound_mrr,
        cast(round(forecast_mrr, 2) * 12 as numeric(20, 2)) as forecast_arr,
        cast(base_month as date) as base_month,
        cast(base_mrr as numeric(14, 2)) as base_mrr,
        cast(history_months as integer) as history_months,
        cast(growth_rate as numeric(12, 6)) as growth_rate,
        cast(growth_rate_stddev as numeric(12, 6)) as growth_rate_stddev,
        cast(
            case when history_months = 0 then 'flat_no_history' else 'trailing_mean_growth' end
            as text
        ) as forecast_method
    from projected

)

select * from final
