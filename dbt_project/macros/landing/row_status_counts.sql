{#- A batch's rows by landing status (row_status): accepted, quarantined and
    duplicates, three counts over the rows of a group (batch_outcomes and
    event_batch_outcomes group base-model rows by batch). -#}
{% macro row_status_counts() -%}
    count(*) filter (where row_status = 'accepted') as accepted,
    count(*) filter (where row_status = 'quarantined') as quarantined,
    count(*) filter (where row_status = 'duplicate') as duplicates
{%- endmacro %}
