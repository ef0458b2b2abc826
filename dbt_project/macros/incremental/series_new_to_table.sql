{#- The series of an incremental mart and whether each is new to its table: the
    rows of `series` (tenant_id and the `keys` columns, one row per series, e.g.
    per tenant and payment method) with is_new_series, true when the table holds
    no row of the series yet (every series on a full refresh), so its whole
    covered range is built. Emits a complete select statement: use it as the body
    of a CTE. -#}
{% macro series_new_to_table(series, keys=[]) -%}
    select
        {{ series }}.*,
        built.tenant_id is null as is_new_series
    from {{ series }}
    left join (
        -- the series already in the table (none on a full refresh)
        {%- if is_incremental() %}
        select distinct
            tenant_id{{ ',' if keys }}
            {%- for key in keys %}
            {{ key }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ this }}
        {%- else %}
        select * from {{ series }}
        where false
        {%- endif %}
    ) as built
        on {{ series }}.tenant_id = built.tenant_id
        {%- for key in keys %}
        and {{ series }}.{{ key }} = built.{{ key }}
        {%- endfor %}
{%- endmacro %}
