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
        {{ cast_to_source_contract('crm__marketing_spend') }}
    from current_spend

)

select * from final
