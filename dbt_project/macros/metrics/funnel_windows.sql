{#- Each funnel's window (docs/metrics.md fct_funnel_steps): one row per funnel
    of the seed funnel_definitions with window_days, the longest of its steps'.
    int_funnel_progress counts a step only within it, and fct_funnel_steps
    rebuilds the weeks int_funnel_progress may recompute by it: both read it
    here so that the two horizons stay one. -#}
{% macro funnel_windows(funnel_definitions) -%}
    select
        funnel_name,
        max(window_days) as window_days
    from {{ funnel_definitions }}
    group by funnel_name
{%- endmacro %}
