{{ config(materialized='table') }}

{#- Payment attempts (one row per payment row created by the end of the as-of date)
    with the "succeeded payment" definition of docs/metrics.md: status succeeded or
    refunded (a refunded payment did succeed first), counted at settled_at
    (succeeded_at / succeeded_date). A succeeded row without settled_at is counted at
    its created_at rather than dropped. settlement_latency_ms = settled_at −
    created_at of succeeded attempts that have a settled_at. -#}

with

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

flagged as (

    -- the payments created by the end of the as-of date
    select
        *,
        status in ('succeeded', 'refunded') as is_succeeded
    from payments
    where created_at < {{ as_of_end() }}

),

final as (

    select
        id as payment_id,
        tenant_id,
        user_id,
        invoice_id,
        subscription_id,
        amount_cents,
        method,
        status,
        failure_reason,
        attempt_number,
        resource,
        created_at,
        settled_at,
        {{ utc_date('created_at') }} as payment_date,
        is_succeeded,
        status = 'failed' as is_failed,
        status = 'pending' as is_pending,
        case when is_succeeded then coalesce(settled_at, created_at) end as succeeded_at,
        case when is_succeeded then {{ utc_date('coalesce(settled_at, created_at)') }} end as succeeded_date,
        case
            when is_succeeded and settled_at is not null
                then cast(extract(epoch from settled_at - created_at) * 1000 as numeric(14, 3))
        end as settlement_latency_ms
    from flagged

)

select * from final
