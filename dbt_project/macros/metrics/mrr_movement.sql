{#- The MRR movement of a customer between two instants (docs/metrics.md
    fct_mrr_movements), in this order: previous 0 and now > 0 is `reactivation` when
    the customer had MRR > 0 at a month end before the period, else `new`; now 0 is `churn`;
    both > 0 is `expansion`, `contraction` or `unchanged`. Shared by
    fct_mrr_movements (months) and int_customer_mrr_period_movements (every period
    type). -#}
{% macro mrr_movement(mrr, previous_mrr, was_paying_earlier) -%}
    case
        when {{ previous_mrr }} = 0 and {{ mrr }} > 0 and {{ was_paying_earlier }} then 'reactivation'
        when {{ previous_mrr }} = 0 and {{ mrr }} > 0 then 'new'
        when {{ mrr }} = 0 and {{ previous_mrr }} > 0 then 'churn'
        when {{ mrr }} > {{ previous_mrr }} then 'expansion'
        when {{ mrr }} < {{ previous_mrr }} then 'contraction'
        else 'unchanged'
    end
{%- endmacro %}
