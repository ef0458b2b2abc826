{#- Reason `future_timestamp`: the event occurred more than 1 day after it was received. -#}
{% macro future_timestamp(occurred_at_column='occurred_at', received_at_column='received_at') -%}
    case when {{ occurred_at_column }} > {{ received_at_column }} + interval '1 day' then 'future_timestamp' end
{%- endmacro %}
