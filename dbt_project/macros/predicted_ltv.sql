{#- The project's one predicted lifetime value (METRICS.md fct_monthly_revenue.ltv):
    revenue per customer-month × gross margin / monthly churn rate, rounded to
    the cent as numeric(14,2); null when the churn rate is 0 or null (nothing
    churns: the lifetime is unbounded) or the revenue is null. Every LTV uses
    it: fct_monthly_revenue.ltv (arpu / logo churn, margin 1),
    fct_plan_revenue_monthly.clv (mrr per subscription / plan churn) and
    fct_acquisition_monthly.ltv (trailing net revenue per paying user-month ×
    gross_margin_rate / trailing 3-month churn). Pass unrounded ratios: the
    only rounding is the final one. -#}
{% macro predicted_ltv(revenue_per_customer_month, monthly_churn_rate, gross_margin_rate='1') -%}
    cast(
        round(
            cast({{ revenue_per_customer_month }} as numeric) * cast({{ gross_margin_rate }} as numeric)
            / nullif(cast({{ monthly_churn_rate }} as numeric), 0),
            2
        ) as numeric(14, 2)
    )
{%- endmacro %}
