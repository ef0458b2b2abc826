{#- Cohort benchmarks (docs/metrics.md fct_cohort_benchmarks): one row per tenant,
    cohort_grain and period_number present in fct_retention_cohorts, over that
    grain's cohorts with a row for the period (the periods that have started). Only
    cohorts with signups (cohort_size > 0, so a retention rate) are benchmarked:
    cohorts counts them, and a period no such cohort has reached is a row with
    cohorts 0 and null measures.

    avg_retention_rate is the mean of the cohorts' rates, pooled_retention_rate
    Σ retained_users / Σ cohort_size, median_retention_rate the percentile_cont
    median of the rates; best / worst are the highest / lowest rate, ties going to
    the earliest cohort_start; avg_cumulative_revenue_per_user is the mean of the
    cohorts' LTV to date. -#}

with

retention_cohorts as (

    select * from {{ ref('fct_retention_cohorts') }}

),

benchmarked_cohorts as (

    select
        *,
        row_number() over (
            partition by tenant_id, cohort_grain, period_number
            order by retention_rate desc, cohort_start asc
        ) as best_rank,
        row_number() over (
            partition by tenant_id, cohort_grain, period_number
            order by retention_rate asc, cohort_start asc
        ) as worst_rank
    from retention_cohorts
    where cohort_size > 0

),

grain_periods as (

    select distinct
        tenant_id,
        cohort_grain,
        period_number
    from retention_cohorts

),

benchmarks as (

    select
        tenant_id,
        cohort_grain,
        period_number,
        count(*) as cohorts,
        avg(retention_rate) as avg_retention_rate,
        sum(retained_users) as retained_users,
        sum(cohort_size) as cohort_users,
        percentile_cont(0.5) within group (order by retention_rate) as median_retention_rate,
        min(cohort_start) filter (where best_rank = 1) as best_cohort_start,
        min(cohort_start) filter (where worst_rank = 1) as worst_cohort_start,
        max(retention_rate) as best_retention_rate,
        min(retention_rate) as worst_retention_rate,
        avg(cumulative_revenue_per_user) as avg_cumulative_revenue_per_user
    from benchmarked_cohorts
    group by tenant_id, cohort_grain, period_number

),

final as (

    -- every period of a grain, benchmarked over its cohorts with signups
    select
        cast(grain_periods.tenant_id as text) as tenant_id,
        cast(grain_periods.cohort_grain as text) as cohort_grain,
        cast(grain_periods.period_number as integer) as period_number,
        cast(coalesce(benchmarks.cohorts, 0) as integer) as cohorts,
        cast(round(benchmarks.avg_retention_rate, 4) as numeric(7, 4)) as avg_retention_rate,
        {{ safe_rate('benchmarks.retained_users', 'benchmarks.cohort_users') }} as pooled_retention_rate,
        cast(round(cast(benchmarks.median_retention_rate as numeric), 4) as numeric(7, 4)) as median_retention_rate,
        cast(benchmarks.best_cohort_start as date) as best_cohort_start,
        cast(benchmarks.best_retention_rate as numeric(7, 4)) as best_retention_rate,
        cast(benchmarks.worst_cohort_start as date) as worst_cohort_start,
        cast(benchmarks.worst_retention_rate as numeric(7, 4)) as worst_retention_rate,
        cast(round(benchmarks.avg_cumulative_revenue_per_user, 2) as numeric(14, 2)) as avg_cumulative_revenue_per_user
    from grain_periods
    left join benchmarks
        on grain_periods.tenant_id = benchmarks.tenant_id
        and grain_periods.cohort_grain = benchmarks.cohort_grain
        and grain_periods.period_number = benchmarks.period_number

)

select * from final
