{{ config(materialized='table') }}

with

landed_tournament_entries as (

    select
        {{ source_columns('games__tournament_entries') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'games__tournament_entries') }}
    -- rows changed after the as-of date are not visible: reruns of a past date see the same rows
    where updated_at < {{ as_of_end() }}

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

    -- every tournament id landed at the as-of date, whatever its status
    select distinct id as known_tournament_id
    from tournaments
    where id is not null

),

validated as (

    select
        landed_tournament_entries.*,
        {{ row_hash(source_columns('games__tournament_entries'), 'landed_tournament_entries') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_tournament_entries.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'tournament_id', 'user_id']),
            implausible_timestamp(['registered_at', 'updated_at']),
            orphan_reference('landed_tournament_entries.tournament_id', 'known_tournaments.known_tournament_id'),
        ]) }} as reasons
    from landed_tournament_entries
    left join tenants
        on landed_tournament_entries.tenant_id = tenants.known_tenant_id
    left join known_tournaments
        on landed_tournament_entries.tournament_id = known_tournaments.known_tournament_id

),

classified as (

    select
        validated.*,
        {{ row_status('_loaded_at, _batch_id') }} as row_status
    from validated

),

final as (

    select
        classified.*,
        -- staging keeps the latest accepted version of each id
        {{ is_current_version('updated_at desc, _loaded_at desc, _batch_id desc, _row_hash') }} as is_current
    from classified

)

select * from final
