{#- Webhook deliveries per tenant, day and event_type (docs/metrics.md
    fct_webhook_deliveries_daily), from stg_billing__webhook_deliveries (each
    delivery's latest accepted version by the as-of date). delivery_date = UTC date
    of created_at; a delivery counts once, with its current status. success_rate =
    delivered / (delivered + failed), pending left out as in fct_payments_daily;
    avg_attempts = mean attempts per delivery; avg_response_ms and p95_response_ms
    (percentile_cont) over the deliveries with a response_ms; null when there is
    nothing to average. Rows: every day × every event_type the tenant has delivered
    by the as-of date, from the start of the tenant's covered range (or the type's
    first delivery, if earlier: webhooks are not part of the covered range) through
    the as-of date, zeros on days without deliveries. -#}

with

webhook_deliveries as (

    select * from {{ ref('stg_billing__webhook_deliveries') }}

),

deliveries_in_range as (

    select
        tenant_id,
        event_type,
        {{ utc_date('created_at') }} as delivery_date,
        status,
        attempts,
        response_ms
    from webhook_deliveries
    where created_at < {{ as_of_end() }}

),

tenant_event_types as (

    select
        tenant_id,
        event_type,
        min(delivery_date) as start_date
    from deliveries_in_range
    group by tenant_id, event_type

),

day_type_grid as (

    {{ tenant_spine('day', extra_starts='tenant_event_types', keys=['event_type']) }}

),

daily_deliveries as (

    select
        tenant_id,
        delivery_date,
        event_type,
        count(*) as deliveries,
        count(*) filter (where status = 'delivered') as delivered,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where status = 'pending') as pending,
        avg(attempts) as avg_attempts,
        avg(response_ms) as avg_response_ms,
        percentile_cont(0.95) within group (order by response_ms) as p95_response_ms
    from deliveries_in_range
    group by tenant_id, delivery_date, event_type

),

joined as (

    {{ spine_with_measures('day_type_grid', 'delivery_date', {
        'daily_deliveries': ['deliveries', 'delivered', 'failed', 'pending'],
    }, keys=['event_type'], nullable_measures={
        'daily_deliveries': ['avg_attempts', 'avg_response_ms', 'p95_response_ms'],
    }) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(delivery_date as date) as delivery_date,
        cast(event_type as text) as event_type,
        cast(deliveries as integer) as deliveries,
        cast(delivered as integer) as delivered,
        cast(failed as integer) as failed,
        cast(pending as integer) as pending,
        {{ safe_rate('delivered', 'delivered + failed') }} as success_rate,
        cast(round(avg_attempts, 2) as numeric(12, 2)) as avg_attempts,
        cast(round(avg_response_ms, 2) as numeric(14, 2)) as avg_response_ms,
        cast(round(cast(p95_response_ms as numeric), 2) as numeric(14, 2)) as p95_response_ms
    from joined

)

select * from final
