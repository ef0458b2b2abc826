{#-
    Tournaments (games.tournaments) as landed, version by version: format,
    status and entry fee checked here, the current version kept by
    stg_games__tournaments.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='id',
    on_schema_change='fail',
    pre_hook="{{ delete_keyless_landed_rows() }}",
    indexes=[
        {'columns': ['id']},
        {'columns': ['_batch_id']},
        {'columns': ['updated_at']},
        {'columns': ['tenant_id']},
    ],
) }}

{{ changed_landed_versions(
    'games__tournaments',
    required=['id', 'tenant_id', 'format', 'status', 'created_at'],
    timestamps=['created_at', 'started_at', 'ended_at', 'updated_at'],
    rules=[
        invalid_enum({'format': ['single_elimination', 'double_elimination', 'round_robin', 'swiss', 'battle_royale'], 'status': ['scheduled', 'running', 'completed', 'canceled']}),
    ],
) }}
