{#- A calendar spine repeated for every series of its tenant: one row per row of
    `spine` (a tenant_spine CTE) and row of `series` (tenant_id and the `keys`
    columns, e.g. the tenant's payment failure reasons) of the same tenant.
    Columns: tenant_id, period_start renamed `period_column`, the keys. A tenant
    without series has no rows. Emits a complete select statement: use it as
    the body of a CTE. -#}
{% macro spine_per_series(spine, series, keys, period_column) -%}
    select
        {{ spine }}.tenant_id,
        {{ spine }}.period_start as {{ period_column }},
        {%- for key in keys %}
        {{ series }}.{{ key }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ spine }}
    inner join {{ series }}
        on {{ spine }}.tenant_id = {{ series }}.tenant_id
{%- endmacro %}
