{#- The health band of a customer health score (docs/metrics.md
    fct_customer_health_daily): 'healthy' (>= 80), 'stable' (60-79),
    'at_risk' (40-59), 'critical' (< 40); null when the score is null. -#}
{% macro health_band(score) -%}
    (case
        when {{ score }} >= 80 then 'healthy'
        when {{ score }} >= 60 then 'stable'
        when {{ score }} >= 40 then 'at_risk'
        when {{ score }} < 40 then 'critical'
    end)
{%- endmacro %}
