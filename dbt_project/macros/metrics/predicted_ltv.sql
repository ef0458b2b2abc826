{#- The project's one predicted LTV (docs/metrics.md fct_monthly_revenue ltv): revenue per
    customer × gross margin / churn rate, i.e. (revenue / customers) × margin /
    (churned / customers_at_start), as money (numeric(14,2)); null when no customer is
    counted, the churn rate is 0 or it is undefined (no customers at the start).
    Computed as one division, revenue × margin × customers_at_start / (customers ×
    churned), so a value exactly on a half cent rounds half away from zero as the exact
    ratio does (dividing by a rounded churn rate such as 0.666… can land a hair below it).
    Every LTV uses it: fct_monthly_revenue.ltv, fct_plan_revenue_monthly.clv and
    fct_acquisition_monthly.ltv (whose churn is a smoothed rate: churned = that rate,
    customers_at_start = 1). -#}
{% macro predicted_ltv(revenue, customers, churned, customers_at_start, gross_margin_rate='1') -%}
    cast(
        round(
            ({{ revenue }}) * cast({{ gross_margin_rate }} as numeric) * nullif({{ customers_at_start }}, 0)
            / nullif(cast({{ customers }} as numeric) * ({{ churned }}), 0),
            2
        ) as numeric(14, 2)
    )
{%- endmacro %}
