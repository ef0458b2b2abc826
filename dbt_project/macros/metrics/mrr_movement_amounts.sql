{#- The MRR bridge amounts of a group of customer MRR movements (rows with
    `movement`, classified by mrr_movement, and `mrr_change`), as select-list
    items: new_mrr, expansion_mrr, reactivation_mrr, and contraction_mrr and
    churned_mrr as positive amounts; null where the group has no movement of
    the kind. fct_monthly_revenue (months) and fct_revenue_by_period (every
    period type) sum with it, so both bridges are the same arithmetic. -#}
{% macro mrr_movement_amounts() -%}
    sum(mrr_change) filter (where movement = 'new') as new_mrr,
    sum(mrr_change) filter (where movement = 'expansion') as expansion_mrr,
    sum(mrr_change) filter (where movement = 'reactivation') as reactivation_mrr,
    -sum(mrr_change) filter (where movement = 'contraction') as contraction_mrr,
    -sum(mrr_change) filter (where movement = 'churn') as churned_mrr
{%- endmacro %}
