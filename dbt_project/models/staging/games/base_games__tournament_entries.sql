{#-
    Each landed version of games.tournament_entries (who entered which
    tournament, with what placement); stg_games__tournament_entries keeps the
    current one.
    An entry whose tournament is not among those landed in its own tenant by
    the as-of date (any status) is an orphan_reference.
-#}
{{ config(**landed_versions_config('tournament_id')) }}

{{ changed_landed_versions(
    'games__tournament_entries',
    required=['id', 'tenant_id', 'tournament_id', 'user_id'],
    timestamps=['registered_at', 'updated_at'],
    rules=[
        orphan_reference('landed_tournament_entries.tournament_id', 'known_tournaments.known_tournament_id'),
    ],
    reference={'model': 'base_games__tournaments', 'entity': 'tournament'},
) }}
