{#- True on the one accepted row per id that staging keeps: the first in
    version_order (e.g. latest extraction key first for mutable tables, first
    landed copy for events) among the id's accepted rows. -#}
{% macro is_current_version(version_order) -%}
    (
        row_status = 'accepted'
        and row_number() over (partition by id, row_status = 'accepted' order by {{ version_order }}) = 1
    )
{%- endmacro %}
