{#-
    One row per app.organizations id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _app__models.yml.
-#}
with

base_organizations as (

    select * from {{ ref('base_app__organizations') }}

),

current_organizations as (

    -- the latest accepted version of each id
    select * from base_organizations
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('app__organizations') }}
    from current_organizations

)

select * from final
