{#-
    One row per crm.leads id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_leads as (

    select * from {{ ref('base_crm__leads') }}

),

current_leads as (

    -- the latest accepted version of each id
    select * from base_leads
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('crm__leads') }}
    from current_leads

)

select * from final
