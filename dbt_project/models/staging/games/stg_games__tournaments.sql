{#-
    One row per games.tournaments id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _games__models.yml.
-#}
with

base_tournaments as (

    select * from {{ ref('base_games__tournaments') }}

),

current_tournaments as (

    -- the latest accepted version of each id
    select * from base_tournaments
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('games__tournaments') }}
    from current_tournaments

)

select * from final
