{#- The project's one predicted LTV (METRICS.md fct_monthly_revenue ltv): revenue per
    customer / churn rate, i.e. (revenue / customers) / (churned / customers_at_start),
    as money (numeric(14,2)); null when no customer is counted, the churn rate is 0 or
    it is undefined (no customers at the start). Computed as one division by whole
    numbers, revenue × customers_at_start / (customers × churned), so a value exactly
    on a half cent rounds half away from zero as the exact ratio does (dividing by a
    rounded churn rate such as 0.666… can land a hair below it). -#}
{% macro predicted_ltv(revenue, customers, churned, customers_at_start) -%}
    cast(
        round(
            ({{ revenue }}) * nullif({{ customers_at_start }}, 0)
            / nullif(cast({{ customers }} as numeric) * ({{ churned }}), 0),
            2
        ) as numeric(14, 2)
    )
{%- endmacro %}
