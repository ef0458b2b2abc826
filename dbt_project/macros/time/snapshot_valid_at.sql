{#- True on the snapshot version of a row that holds at an instant, for a dbt
    snapshot with the timestamp strategy (dbt_valid_from = the version's
    updated_at, dbt_valid_to = the next version's updated_at, null while
    current): dbt_valid_from < instant <= dbt_valid_to. A version updated
    exactly at the instant is not yet visible, as staging reads rows with
    updated_at strictly before the end of the as-of date, so at the end of a
    date each id has at most one valid version: the one staging would have
    shown at that as-of date (version_in_force_at over dbt_valid_from and
    dbt_valid_to). relation_alias qualifies the columns. -#}
{% macro snapshot_valid_at(instant, relation_alias=none) -%}
    {{ version_in_force_at(instant, relation_alias, 'dbt_valid_from', 'dbt_valid_to') }}
{%- endmacro %}
