{#- The lookback of the incremental models. An incremental run rebuilds every
    period (day or hour) from `incremental_window_start` on: the earlier of the
    as-of date and the newest period already built, minus var late_arrival_days
    (default 3), so an event that arrives up to that many days late, or a run
    that skips days, is reflected without a full refresh. On a full refresh (or
    when the table does not exist yet) the window is unbounded.

    Usage in a model (materialized incremental, delete+insert on its grain):
        where {{ in_incremental_window('event_date') }}
    and, for the calendar spine of the model, the same predicate on
    period_start. `column` is the model's own date (or timestamp) column that
    the window is read from in {{ this }}. -#}
{% macro incremental_window_start(column, grain='day') -%}
    {%- set late_days = var('late_arrival_days', 3) | int -%}
    {%- if late_days < 0 -%}
        {{ exceptions.raise_compiler_error("late_arrival_days must be 0 or more, got " ~ late_days) }}
    {%- endif -%}
    (
        select cast(
            date_trunc('{{ grain }}', cast(least({{ as_of_date() }}, cast(max({{ column }}) as date)) as timestamp))
            - interval '{{ late_days }} days'
        as date)
        from {{ this }}
    )
{%- endmacro %}

{% macro in_incremental_window(expression, column=none, grain='day') -%}
    {%- if is_incremental() -%}
        {{ expression }} >= {{ incremental_window_start(column or expression, grain) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
