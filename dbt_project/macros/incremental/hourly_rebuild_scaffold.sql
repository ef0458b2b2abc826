{#- The scaffold of an hourly incremental mart (one row per tenant and UTC hour of
    its covered range): the CTEs `days` (tenant_spine('day')), `tenants`,
    `built_tenants`, `tenants_flagged` (tenants_new_to_table), `days_to_build`
    and `hours` (hours_to_rebuild). The mart counts its measures over the rows
    of days_to_build and left joins them to `hours` on (tenant_id, hour_start).
    changed_days names an earlier CTE (tenant_id, changed_date) of older days to
    rebuild because their inputs changed. Emits the CTEs followed by a comma. -#}
{% macro hourly_rebuild_scaffold(changed_days='changed_days') -%}
days as (

    {{ tenant_spine('day') }}

),

-- the tenants and whether each is new to the table
{{ tenants_new_to_table() }}

-- the days this run rebuilds and their hours
{{ hours_to_rebuild(changed_days) }}
{%- endmacro %}
