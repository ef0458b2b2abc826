{#- The affected keys of an incremental period mart, written once: the rows of
    `periods` (a calendar spine: tenant_id, the `keys` columns, period_start,
    period_end) that a run rebuilds. On a full refresh, or when the table does
    not exist yet, every period. On an incremental run, a period is affected
    when
    - it ends after incremental_window_start(): the days the incremental
      sources (int_user_activity_daily, int_sessions_sessionized, ...) rebuild
      lie in it, and so does the period holding the as-of date (partial);
    - the table does not hold it yet: a tenant or series new to the table, or a
      covered range that grew earlier (a late first activity);
    - it is listed in `changed` (optional): a CTE or relation with tenant_id,
      the `keys` columns and period_start, e.g. periods whose measure from a
      small, fully rebuilt input (users) no longer matches the table's.
    Every other period keeps its row: its inputs lie before the window, which
    incremental runs do not change (an event later than the window is counted
    by the weekly full refresh, as in the incremental sources).
    The model joins its measures to the result instead of `periods`, and is
    materialized incremental, delete+insert on (tenant_id, keys, period_start).
    built_period names the table's period column when it is not period_start
    (fct_daily_kpis: kpi_date).
    Emits a complete select statement: use it as the body of a CTE. -#}
{% macro periods_to_rebuild(periods, keys=[], changed=none, built_period='period_start') -%}
    select {{ periods }}.*
    from {{ periods }}
    {%- if is_incremental() %}
    where
        {{ periods }}.period_end > {{ incremental_window_start() }}
        or not exists (
            select 1
            from {{ this }} as built
            where
                built.tenant_id = {{ periods }}.tenant_id
                {%- for key in keys %}
                and built.{{ key }} = {{ periods }}.{{ key }}
                {%- endfor %}
                and built.{{ built_period }} = {{ periods }}.period_start
        )
        {%- if changed is not none %}
        or exists (
            select 1
            from {{ changed }} as changed_periods
            where
                changed_periods.tenant_id = {{ periods }}.tenant_id
                {%- for key in keys %}
                and changed_periods.{{ key }} = {{ periods }}.{{ key }}
                {%- endfor %}
                and changed_periods.period_start = {{ periods }}.period_start
        )
        {%- endif %}
    {%- endif %}
{%- endmacro %}
