{#- dbt-postgres's own version with one fix: array columns report their real
    type (text[]) instead of information_schema's bare 'ARRAY', which dbt cannot
    cast to. dbt unit tests build their fixtures with these types, so without
    this a model with a text[] column (reasons) cannot be unit-tested. Found
    first in the root project, dispatch uses it for every relation. -#}
{% macro postgres__get_columns_in_relation(relation) -%}
  {% call statement('get_columns_in_relation', fetch_result=True) %}
      select
          column_name,
          case
              when data_type = 'ARRAY' then substr(udt_name, 2) || '[]'
              else data_type
          end as data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale

      from {{ relation.information_schema('columns') }}
      where table_name = '{{ relation.identifier }}'
        {% if relation.schema %}
        and table_schema = '{{ relation.schema }}'
        {% endif %}
      order by ordinal_position

  {% endcall %}
  {% set table = load_result('get_columns_in_relation').table %}
  {{ return(sql_convert_columns_in_relation(table)) }}
{% endmacro %}
