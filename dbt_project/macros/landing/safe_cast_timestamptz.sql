{#- Cast a text expression to timestamptz, or null when it is not an ISO-8601
    timestamp: YYYY-MM-DD, optionally followed by T (or a space) and
    hh:mm[:ss[.fraction]] (00:00 to 23:59:59, no leap second, no 24:00),
    optionally followed by Z or a ±hh[[:]mm] offset (up to ±15:59, as
    PostgreSQL allows).
    Values without an offset are UTC, whatever the session time zone. Never
    fails, so a bad value in an event file cannot break a build: the pattern
    rejects words PostgreSQL would otherwise accept ('now', 'today',
    'infinity', 'epoch') and DateStyle-dependent forms ('10/31/2026'), and the
    day-of-month check rejects impossible dates such as 2026-02-30. It uses no
    PostgreSQL 16+ function, so the warehouse may be any supported version.
    Nested CASEs fix the evaluation order: the casts only see values that
    passed the pattern. Non-capturing groups and [0-9]: the pattern runs twice
    per event-file line, and this spelling runs faster in PostgreSQL's regex engine.
    The usual form (2026-10-31T06:00:00[.fff]Z or +hh:mm) takes a fast path
    first: a pattern of bare digit classes and fixed-position range checks,
    three to four times cheaper than the full pattern, accepting only values
    the full pattern accepts; every other value goes through the full pattern. -#}
{% macro safe_cast_timestamptz(expression) -%}
    case
        when
            ({{ expression }}) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$'
            and substr({{ expression }}, 1, 4) <> '0000'
            and substr({{ expression }}, 6, 2) between '01' and '12'
            and substr({{ expression }}, 9, 2) between '01' and '31'
            and substr({{ expression }}, 12, 2) <= '23'
            and substr({{ expression }}, 15, 2) <= '59'
            and substr({{ expression }}, 18, 2) <= '59'
            and (right({{ expression }}, 1) = 'Z' or (substr(right({{ expression }}, 5), 1, 2) <= '15' and right({{ expression }}, 2) <= '59'))
            then case
                when substr({{ expression }}, 9, 2) <= '28' or cast(substr({{ expression }}, 9, 2) as integer) <= extract(day from (
                    make_date(cast(substr({{ expression }}, 1, 4) as integer), cast(substr({{ expression }}, 6, 2) as integer), 1)
                    + interval '1 month' - interval '1 day'
                ))
                    then cast({{ expression }} as timestamptz)
            end
        when ({{ expression }}) ~ '^(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?\s*(?:[Zz]|[+-](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?)?$'
            then case
                when cast(substr({{ expression }}, 9, 2) as integer) <= extract(day from (
                    make_date(cast(substr({{ expression }}, 1, 4) as integer), cast(substr({{ expression }}, 6, 2) as integer), 1)
                    + interval '1 month' - interval '1 day'
                ))
                    then case
                        -- the first 10 characters are the date: any Z, + or - after them is an offset
                        when substr({{ expression }}, 11) ~ '[Zz+-]' then cast({{ expression }} as timestamptz)
                        else cast({{ expression }} as timestamp) at time zone 'UTC'
                    end
            end
    end
{%- endmacro %}
