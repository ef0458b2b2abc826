{#-
    One row per crm.sales_reps id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_sales_reps as (

    select * from {{ ref('base_crm__sales_reps') }}

),

current_sales_reps as (

    -- the latest accepted version of each id
    select * from base_sales_reps
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('crm__sales_reps') }}
    from current_sales_reps

)

select * from final
