{#- Two CTEs for an event model's incremental run: touched_events (the keys the
    run's new events touch, touched_event_keys) and `name`, the distinct
    (tenant_id, user) pairs among them, materialized once so every lookup of the
    model's history is keyed by these users only. Events without a user are
    left out of `name` (a model reads them from touched_events). Emits both
    CTEs, each followed by a comma; call it inside a `with`. -#}
{% macro touched_user_ctes(name='touched_users', user_column='user_id') -%}
touched_events as (

    {{ touched_event_keys() }}

),

{{ name }} as materialized (

    select distinct
        touched_events.tenant_id,
        touched_events.user_id{{ ' as ' ~ user_column if user_column != 'user_id' }}
    from touched_events
    where touched_events.user_id is not null

),
{%- endmacro %}
