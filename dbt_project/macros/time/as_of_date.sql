{#- The run's as-of instant T (docs/metrics.md, "As-of instant"): a run covers exactly
    the activity before T, at any second. From var `as_of` (an ISO 8601 instant,
    what Airflow passes; a bare date means the end of that day), else the
    MERIDIAN_AS_OF environment variable, else the end of var `as_of_date` /
    MERIDIAN_AS_OF_DATE (YYYY-MM-DD: the whole day), else the end of today's
    UTC date. Returned as the ISO text of T in UTC.
    The one place the instant is read: as_of_end() and as_of_date() derive from it. -#}
{% macro as_of_instant_text() -%}
    {%- set instant = var('as_of', '') or env_var('MERIDIAN_AS_OF', '') -%}
    {%- set day = var('as_of_date', '') or env_var('MERIDIAN_AS_OF_DATE', '') -%}
    {%- if instant and modules.re.match('^\d{4}-\d{2}-\d{2}$', instant | string) -%}
        {#- a bare date: the whole day, as for as_of_date -#}
        {%- set day, instant = instant, '' -%}
    {%- endif -%}
    {%- if instant -%}
        {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$', instant | string) -%}
            {{ exceptions.raise_compiler_error("as_of must be an ISO 8601 instant such as 2026-10-31T14:00:00Z, got '" ~ instant ~ "' (from var as_of or MERIDIAN_AS_OF)") }}
        {%- endif -%}
        {%- set parsed = modules.datetime.datetime.fromisoformat((instant | string).replace('Z', '+00:00')) -%}
        {%- if parsed.tzinfo is none -%}
            {%- set parsed = parsed.replace(tzinfo=modules.pytz.utc) -%}
        {%- endif -%}
        {{ return(parsed.astimezone(modules.pytz.utc).isoformat()) }}
    {%- endif -%}
    {%- set day = day or run_started_at.strftime('%Y-%m-%d') -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', day | string) -%}
        {{ exceptions.raise_compiler_error("as_of_date must be YYYY-MM-DD, got '" ~ day ~ "' (from var as_of_date or MERIDIAN_AS_OF_DATE)") }}
    {%- endif -%}
    {%- set next_day = modules.datetime.date.fromisoformat(day | string) + modules.datetime.timedelta(days=1) -%}
    {{ return(next_day.isoformat() ~ 'T00:00:00+00:00') }}
{%- endmacro %}

{#- The as-of date as a SQL date literal: the UTC date of the last instant the run
    covers (T − 1 µs). A run at 14:00 has today as its as-of date, a partial day;
    a run at midnight covers the whole previous day, its as-of date. Marts cover
    every day (and hour) through it; the day and hour holding T are partial. -#}
{% macro as_of_date() -%}
    {%- set instant = modules.datetime.datetime.fromisoformat(as_of_instant_text()) -%}
    {%- set last_covered = instant - modules.datetime.timedelta(microseconds=1) -%}
    date '{{ last_covered.date().isoformat() }}'
{%- endmacro %}

{#- The as-of instant T as a timestamptz: source rows with an extraction key at or
    after it, events that occurred at or after it, payments settled at or after
    it are not visible to this run. -#}
{% macro as_of_end() -%}
    cast('{{ as_of_instant_text() }}' as timestamptz)
{%- endmacro %}
