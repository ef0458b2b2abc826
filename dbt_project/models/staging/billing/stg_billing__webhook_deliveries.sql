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
        {{ cast_to_source_contract('billing__webhook_deliveries') }}
    from current_webhook_deliveries

)

select * from final
