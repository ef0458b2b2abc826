{#-
    Every landed version of games.tournament_entries whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_games__tournament_entries keeps.
    tournament_id must match a tournament landed by the as-of date in the row's own tenant (any
    status) or the row is an orphan_reference.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_tournament_entries as (

    select
        {{ source_columns('games__tournament_entries') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'games__tournament_entries') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where {{ extraction_key_visible('updated_at') }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

tournaments as (

    select * from {{ ref('base_games__tournaments') }}

),

known_tournaments as (

    -- every tournament id landed at the as-of date in each tenant, whatever its status
    select distinct
        tenant_id as tournament_tenant_id,
        id as known_tournament_id
    from tournaments
    where id is not null

),

validated as (

    select
        landed_tournament_entries.*,
        {{ row_hash(source_columns('games__tournament_entries'), 'landed_tournament_entries') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_tournament_entries.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'tournament_id', 'user_id'], source_column_types('games__tournament_entries')),
            implausible_timestamp(['registered_at', 'updated_at']),
            orphan_reference('landed_tournament_entries.tournament_id', 'known_tournaments.known_tournament_id'),
        ]) }} as reasons
    from landed_tournament_entries
    left join tenants
        on landed_tournament_entries.tenant_id = tenants.known_tenant_id
    left join known_tournaments
        on landed_tournament_entries.tenant_id = known_tournaments.tournament_tenant_id
        and landed_tournament_entries.tournament_id = known_tournaments.known_tournament_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
