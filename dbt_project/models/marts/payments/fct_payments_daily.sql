{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'payment_date', 'method'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where payment_date >= {{ incremental_window_start() }}{% endif %}",
) }}

{#- Payment attempts per tenant, day and method (docs/metrics.md fct_payments_daily).
    Every measure is on payment_date = the UTC date of created_at (so revenue here is
    by attempt date, unlike fct_daily_kpis which counts succeeded payments at
    settled_at). One row per day of the tenant's covered range (tenant_spine) ×
    every method the tenant has used by the as-of date (zeros on days without
    attempts, including days before the method's first use); a tenant without
    payments has no rows. succeeded = status succeeded or refunded; unique_payers =
    distinct users with a succeeded attempt; avg_value = revenue / succeeded;
    latencies = settled_at − created_at of succeeded attempts (ms, percentile_cont);
    averages, percentiles and rates are null when they have nothing to average.

    Incremental (delete+insert on the grain): a run rebuilds
    - the days from incremental_window_start on (the as-of date − var
      late_arrival_days, which the DAG widens after skipped days); a pre-hook first
      deletes the table's rows from that day on, so a rerun of an earlier date
      leaves no later rows behind;
    - older days holding a payment row that changed in the window (its updated_at,
      the extraction key, is in it: a payment settled, failed or refunded late
      becomes visible only then);
    - the whole covered range of a (tenant, method) series the table does not hold
      yet (a tenant's first payment, a method's first use), so its zero rows before
      the window exist as after a full refresh. -#}

with

days as (

    {{ tenant_spine('day') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

tenant_methods as (

    select distinct
        tenant_id,
        method
    from payment_attempts

),

tenant_methods_flagged as (

    -- whether each (tenant, method) series is new to the table
    {{ series_new_to_table('tenant_methods', keys=['method']) }}

),

changed_days as (

    -- days of the payment rows that changed in the window
    {{ changed_payment_days() }}

),

day_method_grid as (

    -- the (day, method) rows this run builds
    {{ days_to_rebuild('tenant_methods_flagged', keys=['method'], day_column='payment_date') }}

),

attempts_to_count as (

    select payment_attempts.*
    from payment_attempts
    inner join day_method_grid
        on payment_attempts.tenant_id = day_method_grid.tenant_id
        and payment_attempts.payment_date = day_method_grid.payment_date
        and payment_attempts.method = day_method_grid.method

),

daily_method_attempts as (

    select
        tenant_id,
        payment_date,
        method,
        {{ payment_attempt_measures() }},
        count(distinct user_id) filter (where is_succeeded) as unique_payers,
        avg(settlement_latency_ms) as latency_avg_ms,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by settlement_latency_ms) as latency_percentiles_ms
    from attempts_to_count
    group by tenant_id, payment_date, method

),

joined as (

    {{ spine_with_measures('day_method_grid', 'payment_date', {
        'daily_method_attempts': ['attempts', 'succeeded', 'failed', 'pending', 'revenue_cents', 'unique_payers'],
    }, keys=['method'], spine_period_column='payment_date', nullable_measures={
        'daily_method_attempts': ['latency_avg_ms', 'latency_percentiles_ms'],
    }) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(payment_date as date) as payment_date,
        cast(method as text) as method,  -- noqa: RF04
        cast(attempts as integer) as attempts,
        cast(succeeded as integer) as succeeded,
        cast(failed as integer) as failed,
        cast(pending as integer) as pending,
        {{ safe_rate('succeeded', 'succeeded + failed') }} as success_rate,
        {{ cents_to_money('revenue_cents') }} as revenue,
        cast(unique_payers as integer) as unique_payers,
        {{ cents_to_money('revenue_cents / nullif(cast(succeeded as numeric), 0)') }} as avg_value,
        cast(round(latency_avg_ms, 2) as numeric(14, 2)) as latency_avg_ms,
        cast(round(cast(latency_percentiles_ms[1] as numeric), 2) as numeric(14, 2)) as latency_p50_ms,
        cast(round(cast(latency_percentiles_ms[2] as numeric), 2) as numeric(14, 2)) as latency_p95_ms,
        cast(round(cast(latency_percentiles_ms[3] as numeric), 2) as numeric(14, 2)) as latency_p99_ms
    from joined

)

select * from final
