{#-
    One row per games.tournament_entries id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _games__models.yml.
-#}
with

base_tournament_entries as (

    select * from {{ ref('base_games__tournament_entries') }}

),

current_tournament_entries as (

    -- the latest accepted version of each id
    select * from base_tournament_entries
    where is_current

),

final as (

    select
        {{ cast_to_source_contract('games__tournament_entries') }}
    from current_tournament_entries

)

select * from final
