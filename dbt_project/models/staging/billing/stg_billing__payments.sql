{#-
    One row per billing.payments id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _billing__models.yml.
-#}
with

base_payments as (

    select * from {{ ref('base_billing__payments') }}

),

current_payments as (

    -- the latest accepted version of each id
    select * from base_payments
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('billing__payments') }}
    from current_payments

)

select * from final
