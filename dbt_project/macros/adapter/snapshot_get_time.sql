{#- The "current time" of dbt snapshots, overriding dbt-postgres's wall clock
    (now() as timestamp without time zone): the run's as-of instant, as
    timestamptz. dbt uses it only when a snapshot handles hard deletes
    (the time a vanished row is closed at), so such a date would be data
    time too, and reruns of an instant would give the same rows; its type now
    matches the timestamptz updated_at columns the snapshots read (dbt warns
    when they differ). -#}
{% macro postgres__snapshot_get_time() -%}
    {{ as_of_end() }}
{%- endmacro %}
