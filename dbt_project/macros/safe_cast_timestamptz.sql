{#- Cast a text expression to timestamptz, or null when it is not an ISO-8601
    timestamp (date, optional time, optional Z/±hh[:mm] offset). Values without
    an offset are UTC. Never fails: pg_input_is_valid (PostgreSQL 16+) rejects
    impossible dates such as 2026-02-30, the regex rejects words PostgreSQL
    would accept ('now', 'today', 'infinity', 'epoch'). -#}
{% macro safe_cast_timestamptz(expression) -%}
    case
        when not ({{ expression }}) ~* '^\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(z|[+-]\d{2}(:?\d{2})?)?)?$'
            then null
        when not pg_input_is_valid({{ expression }}, 'timestamptz')
            then null
        when ({{ expression }}) ~* '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(z|[+-]\d{2}(:?\d{2})?)$'
            then cast({{ expression }} as timestamptz)
        else cast({{ expression }} as timestamp) at time zone 'UTC'
    end
{%- endmacro %}
