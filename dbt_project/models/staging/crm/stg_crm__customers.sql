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
        {{ cast_to_source_contract('crm__customers') }}
    from current_customers

)

select * from final
