{#- The project's one predicted LTV (METRICS.md fct_monthly_revenue ltv):
    revenue per customer / churn rate, as money (numeric(14,2)), null when the
    churn rate is 0 or null. Both arguments are SQL expressions; pass the
    unrounded ratios so the result is rounded once. -#}
{% macro predicted_ltv(revenue_per_customer, churn_rate) -%}
    cast(round(({{ revenue_per_customer }}) / nullif({{ churn_rate }}, 0), 2) as numeric(14, 2))
{%- endmacro %}
