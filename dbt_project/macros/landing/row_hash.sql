{#- md5 of the row's source columns as one composite value: null and '' hash
    differently, and identical content hashes identically whatever the origin
    (database table or event file). relation_alias qualifies the columns when
    the query joins other relations. -#}
{% macro row_hash(columns, relation_alias=none) -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    md5(cast(row({% for column in columns %}{{ prefix }}{{ column }}{{ ', ' if not loop.last }}{% endfor %}) as text))
{%- endmacro %}
