{#- Whether a landed source row is visible at the as-of date by its extraction
    key (updated_at, or received_at for append-only tables): a key before the
    as-of instant, or no key at all. The extract reads rows without a
    key too (nothing is lost at extraction); they are visible once landed. -#}
{% macro extraction_key_visible(key_column) -%}
    ({{ key_column }} < {{ as_of_end() }} or {{ key_column }} is null)
{%- endmacro %}
