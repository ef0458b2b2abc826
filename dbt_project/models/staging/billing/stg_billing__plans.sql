{#-
    One row per billing.plans id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _billing__models.yml.
-#}
with

base_plans as (

    select * from {{ ref('base_billing__plans') }}

),

current_plans as (

    -- the latest accepted version of each id
    select * from base_plans
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(name as text) as name,
        cast(billing_interval as text) as billing_interval,
        cast(amount_cents as integer) as amount_cents,
        cast(currency as char(3)) as currency,
        cast(updated_at as timestamptz) as updated_at
    from current_plans

)

select * from final
