{#- The on-run-end hook of every dbt invocation (dbt_project.yml): row-level
    security, the tenant policies and the tenant reader's grants on every table
    of schema marts, by security.apply_row_security (created by the warehouse
    bootstrap). Changes only what is missing, so it is cheap when the marts'
    post-hooks already did the work; it catches any table that reached schema
    marts another way. -#}
{% macro apply_row_security() -%}
    do $$
    begin
        if to_regprocedure('security.apply_row_security()') is null then
            raise warning 'schema security is missing: the marts are readable by their owner only';
        else
            perform security.apply_row_security();
        end if;
    end
    $$
{%- endmacro %}
