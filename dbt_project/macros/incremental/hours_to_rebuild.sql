{#- The two CTEs an hourly incremental mart rebuilds over: `days_to_build`
    (tenant_id, period_start), the days of `days` in the incremental window,
    of a tenant new to the table (tenants_flagged.is_new_series) or whose
    counts changed (changed_days.changed_date; see days_to_rebuild), and `hours` (tenant_id,
    hour_start), their UTC hours that start before the as-of instant (24 a
    day; the day holding the instant ends with the partial hour holding it). Expects CTEs named days,
    tenants_flagged and changed_days (or the name passed); emits the CTEs
    followed by a comma. -#}
{% macro hours_to_rebuild(changed_days='changed_days') -%}
days_to_build as (

    {{ days_to_rebuild(changed_days=changed_days) }}

),

hours as (

    select
        days_to_build.tenant_id,
        (
            cast(days_to_build.period_start as timestamp) + hour_offsets.hour_offset * interval '1 hour'
        ) at time zone 'UTC' as hour_start
    from days_to_build
    cross join generate_series(0, 23) as hour_offsets (hour_offset)
    where
        (cast(days_to_build.period_start as timestamp) + hour_offsets.hour_offset * interval '1 hour')
        at time zone 'UTC' < {{ as_of_end() }}

),
{%- endmacro %}
