{#- Invariant of fct_retention_cohorts: no period retains more users than the
    cohort has (retained_users <= cohort_size on every row, period 0 included,
    null counting as a violation), and every row of a cohort carries the cohort
    size of its period-0 row (the size is fixed at signup; a cohort without a
    period-0 row is itself a violation). The row-level bound is also a generic
    expression_is_true test in _product__models.yml; this test adds the period-0
    anchor and the per-cohort consistency. Returns the violating rows with the
    reason. -#}

with

retention_cohorts as (

    select * from {{ ref('fct_retention_cohorts') }}

),

period_zero as (

    select
        tenant_id,
        cohort_grain,
        cohort_start,
        cohort_size as period_zero_cohort_size,
        retained_users as period_zero_retained_users
    from retention_cohorts
    where period_number = 0

),

compared as (

    select
        retention_cohorts.tenant_id,
        retention_cohorts.cohort_grain,
        retention_cohorts.cohort_start,
        retention_cohorts.period_number,
        retention_cohorts.cohort_size,
        retention_cohorts.retained_users,
        period_zero.period_zero_cohort_size,
        period_zero.period_zero_retained_users,
        case
            when period_zero.tenant_id is null then 'cohort has no period 0 row'
            when not coalesce(retention_cohorts.retained_users <= retention_cohorts.cohort_size, false)
                then 'retained_users exceeds cohort_size (or is null)'
            -- in parentheses: sqlfluff's postgres grammar does not read `is distinct from` bare in a case branch
            when (retention_cohorts.cohort_size is distinct from period_zero.period_zero_cohort_size)
                then 'cohort_size differs from the period 0 cohort_size'
        end as violation
    from retention_cohorts
    left join period_zero
        on retention_cohorts.tenant_id = period_zero.tenant_id
        and retention_cohorts.cohort_grain = period_zero.cohort_grain
        and retention_cohorts.cohort_start = period_zero.cohort_start

),

violations as (

    select * from compared
    where violation is not null

)

select * from violations
