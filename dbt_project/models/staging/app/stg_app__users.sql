{#-
    One row per app.users id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _app__models.yml.
-#}
with

base_users as (

    select * from {{ ref('base_app__users') }}

),

current_users as (

    -- the latest accepted version of each id
    select * from base_users
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('app__users') }}
    from current_users

)

select * from final
