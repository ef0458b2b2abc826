{#-
    Landed versions of app.users (sign-up, platform, country, acquisition
    channel of each app user); stg_app__users keeps the current one per id.
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
    'app__users',
    required=['id', 'tenant_id', 'signup_at'],
    timestamps=['signup_at', 'deleted_at', 'updated_at'],
    rules=[
        invalid_enum({'platform': ['ios', 'android', 'web']}),
    ],
) }}
