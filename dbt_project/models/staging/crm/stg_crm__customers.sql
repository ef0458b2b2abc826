{#-
    One row per crm.customers id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_customers as (

    select * from {{ ref('base_crm__customers') }}

),

current_customers as (

    -- the latest accepted version of each id
    select * from base_customers
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(lead_id as text) as lead_id,
        cast(name as text) as name,
        cast(segment as text) as segment,
        cast(status as text) as status,
        cast(health_score as integer) as health_score,
        cast(created_at as timestamptz) as created_at,
        cast(churned_at as timestamptz) as churned_at,
        cast(updated_at as timestamptz) as updated_at
    from current_customers

)

select * from final
