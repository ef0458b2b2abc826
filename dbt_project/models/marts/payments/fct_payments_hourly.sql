{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'hour_start'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where hour_start at time zone 'UTC' >= {{ incremental_window_start() }}{% endif %}",
) }}

{#- Payment attempts per tenant and UTC hour (docs/metrics.md fct_payments_hourly; peak
    hours are read from it). As in fct_payments_daily, every measure is by the hour
    of the attempt's created_at: attempts = payment rows created in the hour,
    succeeded = those with status succeeded or refunded, failed, pending, revenue =
    amount of the succeeded ones; so the hours of a day add up to that day's
    fct_payments_daily rows. hour_start is the hour's first instant (timestamptz).
    One row per hour of every day of the tenant's covered range (tenant_spine), 24
    per day, zeros in hours without attempts.

    Incremental (delete+insert on the grain), as fct_payments_daily: a run rebuilds
    the hours of the days from incremental_window_start on (the as-of date − var
    late_arrival_days, which the DAG widens after skipped days; a pre-hook first
    deletes the table's rows from that day on, so a rerun of an earlier date leaves
    no later rows behind), of older days holding a payment row that changed in the
    window (updated_at in it), and of the whole covered range of a tenant the table
    does not hold yet. -#}

with

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

changed_days as (

    -- days of the payment rows that changed in the window
    {{ changed_payment_days() }}

),

-- the covered days, the tenants new to the table, the days this run rebuilds and their hours
{{ hourly_rebuild_scaffold() }}

attempts_to_count as (

    select
        payment_attempts.tenant_id,
        payment_attempts.amount_cents,
        payment_attempts.is_succeeded,
        payment_attempts.is_failed,
        payment_attempts.is_pending,
        {{ utc_hour_start('payment_attempts.created_at') }} as hour_start
    from payment_attempts
    inner join days_to_build
        on payment_attempts.tenant_id = days_to_build.tenant_id
        and payment_attempts.payment_date = days_to_build.period_start

),

hourly_attempts as (

    select
        tenant_id,
        hour_start,
        {{ payment_attempt_measures() }}
    from attempts_to_count
    group by tenant_id, hour_start

),

-- every hour of the days rebuilt, zeros in hours without attempts
joined as (

    {{ spine_with_measures('hours', 'hour_start', {
        'hourly_attempts': ['attempts', 'succeeded', 'failed', 'pending', 'revenue_cents'],
    }, spine_period_column='hour_start') }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(hour_start as timestamptz) as hour_start,
        cast(attempts as integer) as attempts,
        cast(succeeded as integer) as succeeded,
        cast(failed as integer) as failed,
        {{ cents_to_money('revenue_cents') }} as revenue,
        cast(pending as integer) as pending
    from joined

)

select * from final
