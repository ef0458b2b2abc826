{#- The measures of a left-joined relation, zero where it has no row: one
    `coalesce(relation.column, 0) as column` per column, comma separated. Marts
    left join their measures to a calendar spine (tenant_spine) so that periods
    without activity are rows of zeros; this is that select list. -#}
{% macro measures_or_zero(relation, columns) -%}
    {%- for column in columns %}
    coalesce({{ relation }}.{{ column }}, 0) as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
