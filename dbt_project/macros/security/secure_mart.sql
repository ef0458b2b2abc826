{#- The post-hook of every mart (dbt_project.yml): row-level security, the tenant
    policies and the tenant reader's SELECT on the table just built, by
    security.secure_mart (the warehouse bootstrap creates it, see
    include/meridian/warehouse/security.py). It runs inside the build's
    transaction, right after the new table takes the mart's name, so a rebuilt
    mart is never visible without its policies. Without schema security (a
    warehouse never bootstrapped, so no tenant roles either) the table stays
    readable by its owner only, and the server logs a warning. The mart's read
    indexes (mart_indexes) are created first, in the same transaction. -#}
{% macro secure_mart(relation) -%}
    {{ mart_indexes(relation) }}
    do $$
    begin
        if to_regprocedure('security.secure_mart(regclass)') is null then
            raise warning 'schema security is missing: {{ relation.include(database=false) }} is readable by its owner only';
        else
            perform security.secure_mart('{{ relation.include(database=false) }}'::regclass);
        end if;
    end
    $$
{%- endmacro %}
