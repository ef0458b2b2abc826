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
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(name as text) as name,
        cast(format as text) as format,
        cast(status as text) as status,
        cast(entry_fee_cents as integer) as entry_fee_cents,
        cast(created_at as timestamptz) as created_at,
        cast(started_at as timestamptz) as started_at,
        cast(ended_at as timestamptz) as ended_at,
        cast(updated_at as timestamptz) as updated_at
    from current_tournaments

)

select * from final
