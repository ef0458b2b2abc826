{#- The days an incremental daily or hourly mart rebuilds: the rows of the CTE
    `days` (a tenant_spine('day')) joined to the series of `series_flagged`
    (tenant_id, the `keys` columns, is_new_series) that are in the incremental
    window, belong to a series new to the table (its whole covered range is
    built) or are listed in `changed_days` (tenant_id, changed_date: days
    whose inputs changed in the window). Columns: tenant_id, the day (named
    `day_column`), the keys. Emits a complete select statement: use it as the
    body of a CTE. -#}
{% macro days_to_rebuild(series_flagged='tenants_flagged', keys=[], day_column='period_start', changed_days='changed_days') -%}
    select
        days.tenant_id,
        days.period_start{{ ' as ' ~ day_column if day_column != 'period_start' }}{{ ',' if keys }}
        {%- for key in keys %}
        {{ series_flagged }}.{{ key }}{{ ',' if not loop.last }}
        {%- endfor %}
    from days
    inner join {{ series_flagged }}
        on days.tenant_id = {{ series_flagged }}.tenant_id
    left join {{ changed_days }}
        on days.tenant_id = {{ changed_days }}.tenant_id
        and days.period_start = {{ changed_days }}.changed_date
    where {{ in_incremental_window('days.period_start', day_column) }}
        or {{ series_flagged }}.is_new_series
        or {{ changed_days }}.changed_date is not null
{%- endmacro %}
