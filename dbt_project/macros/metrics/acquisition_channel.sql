{#- The acquisition channel of a user or of marketing spend (docs/metrics.md
    fct_acquisition_monthly): the trimmed value, 'unknown' when null or empty,
    so that users and spend meet on the same channel names. -#}
{% macro acquisition_channel(column) -%}
    coalesce(nullif(trim({{ column }}), ''), 'unknown')
{%- endmacro %}
