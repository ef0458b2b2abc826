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
        {{ cast_to_source_contract('billing__plans') }}
    from current_plans

)

select * from final
