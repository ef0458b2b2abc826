{#-
    Every landed version of games.tournaments whose updated_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the latest accepted version of its id, the row stg_games__tournaments keeps.

    Materialized as a table (not a view, unlike the staging default): the
    classification is read by the stg view, audit.quarantine and
    audit.batch_outcomes, and computing it takes window functions over every
    landed version.
-#}
{{ config(materialized='table') }}

with

landed_tournaments as (

    select
        {{ source_columns('games__tournaments') | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ source('raw', 'games__tournaments') }}
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

validated as (

    select
        landed_tournaments.*,
        {{ row_hash(source_columns('games__tournaments'), 'landed_tournaments') }} as _row_hash,
        {{ reason_codes([
            unknown_tenant('landed_tournaments.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'format', 'status', 'created_at'], source_column_types('games__tournaments')),
            implausible_timestamp(['created_at', 'started_at', 'ended_at', 'updated_at']),
            invalid_enum({'format': ['single_elimination', 'double_elimination', 'round_robin', 'swiss', 'battle_royale'], 'status': ['scheduled', 'running', 'completed', 'canceled']}),
        ]) }} as reasons
    from landed_tournaments
    left join tenants
        on landed_tournaments.tenant_id = tenants.known_tenant_id

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}

select * from final
