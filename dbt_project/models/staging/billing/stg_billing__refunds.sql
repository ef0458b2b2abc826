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
        {{ cast_to_source_contract('billing__refunds') }}
    from current_refunds

)

select * from final
