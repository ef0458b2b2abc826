{#-
    Landed versions of app.users (sign-up, platform, country, acquisition
    channel of each app user); stg_app__users keeps the current one per id.
-#}
{{ config(**landed_versions_config()) }}

{{ changed_landed_versions(
    'app__users',
    required=['id', 'tenant_id', 'signup_at'],
    timestamps=['signup_at', 'deleted_at', 'updated_at'],
    rules=[
        invalid_enum({'platform': ['ios', 'android', 'web']}),
    ],
) }}
