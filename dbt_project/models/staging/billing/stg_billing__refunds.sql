{#-
    One row per billing.refunds id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _billing__models.yml.
-#}
with

base_refunds as (

    select * from {{ ref('base_billing__refunds') }}

),

current_refunds as (

    -- the latest accepted version of each id
    select * from base_refunds
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(payment_id as text) as payment_id,
        cast(amount_cents as integer) as amount_cents,
        cast(reason as text) as reason,
        cast(created_at as timestamptz) as created_at,
        cast(updated_at as timestamptz) as updated_at
    from current_refunds

)

select * from final
