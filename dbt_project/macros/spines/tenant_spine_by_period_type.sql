{#- The calendar spine of a mart keyed by period type: tenant_spine at each grain of
    `period_types`, one under the other, with the grain as a leading period_type
    column (period_type, tenant_id, the key columns, period_start, period_end).
    extra_starts and keys pass through to tenant_spine. Emits a complete select
    statement: use it as the body of a CTE. -#}
{% macro tenant_spine_by_period_type(period_types, extra_starts=none, keys=[]) -%}
    {%- for period_type in period_types %}
    select
        '{{ period_type }}' as period_type,
        spine.*
    from ({{ tenant_spine(period_type, extra_starts=extra_starts, keys=keys) }}) as spine
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
