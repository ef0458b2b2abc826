{#- Cast a text expression to timestamptz, or null when it is not an ISO-8601
    timestamp: YYYY-MM-DD, optionally followed by T (or a space) and
    hh:mm[:ss[.fraction]] (00:00 to 23:59:59, no leap second, no 24:00),
    optionally followed by Z or a ±hh[[:]mm] offset.
    Values without an offset are UTC, whatever the session time zone. Never
    fails, so a bad value in an event file cannot break a build: the pattern
    rejects words PostgreSQL would otherwise accept ('now', 'today',
    'infinity', 'epoch') and DateStyle-dependent forms ('10/31/2026');
    pg_input_is_valid (PostgreSQL 16+) rejects impossible dates such as
    2026-02-30. Non-capturing groups and [0-9]: the pattern runs twice per
    event-file line, and this spelling runs faster in PostgreSQL's regex engine. -#}
{% macro safe_cast_timestamptz(expression) -%}
    case
        when ({{ expression }}) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?\s*(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$'
            and pg_input_is_valid({{ expression }}, 'timestamptz')
            then case
                -- the first 10 characters are the date: any Z, + or - after them is an offset
                when substr({{ expression }}, 11) ~ '[Zz+-]' then cast({{ expression }} as timestamptz)
                else cast({{ expression }} as timestamp) at time zone 'UTC'
            end
    end
{%- endmacro %}
