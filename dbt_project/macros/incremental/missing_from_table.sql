{#- True for a row the incremental model's table does not hold yet (a period that
    came into range, a new tenant or series): no row of the table matches it on
    every column of `keys`, a mapping of the table's column to the SQL expression
    it is compared with. A `not exists` on the table's key (an index probe per
    row). For an is_incremental() branch only: the table must exist. -#}
{% macro missing_from_table(keys) -%}
    not exists (
        select 1
        from {{ this }} as built
        where
            {%- for column, expression in keys.items() %}
            {{ 'and ' if not loop.first }}built.{{ column }} = {{ expression }}
            {%- endfor %}
    )
{%- endmacro %}
