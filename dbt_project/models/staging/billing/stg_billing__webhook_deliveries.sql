{#-
    One row per billing.webhook_deliveries id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _billing__models.yml.
-#}
with

base_webhook_deliveries as (

    select * from {{ ref('base_billing__webhook_deliveries') }}

),

current_webhook_deliveries as (

    -- the latest accepted version of each id
    select * from base_webhook_deliveries
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(event_type as text) as event_type,
        cast(endpoint as text) as endpoint,
        cast(status as text) as status,
        cast(attempts as integer) as attempts,
        cast(response_ms as integer) as response_ms,
        cast(created_at as timestamptz) as created_at,
        cast(delivered_at as timestamptz) as delivered_at,
        cast(updated_at as timestamptz) as updated_at
    from current_webhook_deliveries

)

select * from final
