{#-
    One row per crm.proposals id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_proposals as (

    select * from {{ ref('base_crm__proposals') }}

),

current_proposals as (

    -- the latest accepted version of each id
    select * from base_proposals
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('crm__proposals') }}
    from current_proposals

)

select * from final
