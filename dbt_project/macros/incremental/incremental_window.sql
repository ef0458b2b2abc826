{#- The lookback of the incremental models. An incremental run rebuilds every
    period (day or hour) from `incremental_window_start` on: the as-of date
    minus var late_arrival_days (default 3), truncated to the grain, so an
    event that arrives up to that many days late is reflected without a full
    refresh. The window depends only on the run's vars, never on what the table
    holds, so hooks and the model body agree on it. A run after skipped days
    widens the window: the transform DAG passes late_arrival_days plus the days
    since the last build (meridian.transform.plan). On a full refresh, or when
    the table does not exist yet, the window is unbounded.

    Usage in a model (materialized incremental, delete+insert on its grain):
        where {{ in_incremental_window('event_date') }}
    on both the measures' source rows and the model's calendar spine. -#}
{% macro incremental_window_start(column=none, grain='day') -%}
    {%- set late_days = var('late_arrival_days', 3) | int -%}
    {%- if late_days < 0 -%}
        {{ exceptions.raise_compiler_error("late_arrival_days must be 0 or more, got " ~ late_days) }}
    {%- endif -%}
    cast(date_trunc('{{ grain }}', cast({{ as_of_date() }} - {{ late_days }} as timestamp)) as date)
{%- endmacro %}

{% macro in_incremental_window(expression, column=none, grain='day') -%}
    {%- if is_incremental() -%}
        {{ expression }} >= {{ incremental_window_start(column, grain) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
