{#- Window expression numbering the landed copies of identical content: 1 for
    the first row (in landing_order) with a given id and _row_hash, 2, 3, ...
    for later identical copies, which row_status calls duplicates. Computed in
    its own CTE so the reasons are evaluated once, below the window. -#}
{% macro copy_number(landing_order) -%}
    row_number() over (partition by id, _row_hash order by {{ landing_order }})
{%- endmacro %}
