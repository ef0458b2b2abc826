{#-
    Tournaments (games.tournaments) as landed, version by version: format,
    status and entry fee checked here, the current version kept by
    stg_games__tournaments.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'games__tournaments',
    required=['id', 'tenant_id', 'format', 'status', 'created_at'],
    timestamps=['created_at', 'started_at', 'ended_at', 'updated_at'],
    rules=[
        invalid_enum({'format': ['single_elimination', 'double_elimination', 'round_robin', 'swiss', 'battle_royale'], 'status': ['scheduled', 'running', 'completed', 'canceled']}),
    ],
) }}
