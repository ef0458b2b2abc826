{#- Reason `orphan_reference`: the reference is set but matched no row landed at
    the as-of date in the row's own tenant (callers join on tenant_id and the
    id). matched_column is the join result (null when unmatched). A null
    reference is left to missing_required. -#}
{% macro orphan_reference(reference_column, matched_column) -%}
    case when {{ reference_column }} is not null and {{ reference_column }} <> '' and {{ matched_column }} is null then 'orphan_reference' end
{%- endmacro %}
