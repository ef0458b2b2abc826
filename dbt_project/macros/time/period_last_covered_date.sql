{#- The last day a period covers (docs/metrics.md, "As-of instant"): its last
    day (period_end − 1, period_end being the first day after it), or the as-of
    date for the period holding it, which the run covers only up to then.
    Month-end and period-end states (MRR, subscriptions, pipeline, active
    users) are measured at the end of this day. -#}
{% macro period_last_covered_date(period_end) -%}
    least({{ period_end }} - 1, {{ as_of_date() }})
{%- endmacro %}
