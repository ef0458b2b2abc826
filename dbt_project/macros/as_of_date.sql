{#- The run's as-of date as a SQL date literal: var `as_of_date`, else the
    MERIDIAN_AS_OF_DATE environment variable, else today's UTC date. Marts cover
    every day through it inclusive; staging ignores source rows changed after it. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', '') or env_var('MERIDIAN_AS_OF_DATE', '') or run_started_at.strftime('%Y-%m-%d') -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("as_of_date must be YYYY-MM-DD, got '" ~ value ~ "' (from var as_of_date or MERIDIAN_AS_OF_DATE)") }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{#- The first instant after the as-of date: source rows with an extraction key at
    or after it are not visible to this run. -#}
{% macro as_of_end() -%}
    ({{ as_of_date() }} + interval '1 day')::timestamptz
{%- endmacro %}
