{#-
    One row per crm.marketing_spend id: its latest accepted version landed by
    the as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_spend as (

    select * from {{ ref('base_crm__marketing_spend') }}

),

current_spend as (

    -- the latest accepted version of each id
    select * from base_spend
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(channel as text) as channel,
        cast(spend_date as date) as spend_date,
        cast(amount_cents as bigint) as amount_cents,
        cast(currency as char(3)) as currency,
        cast(updated_at as timestamptz) as updated_at
    from current_spend

)

select * from final
