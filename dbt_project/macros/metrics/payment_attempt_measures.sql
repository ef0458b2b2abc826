{#- The attempt counts and revenue of a group of int_payments_attempts rows, as
    select-list items (fct_payments_daily by day and method, fct_payments_hourly by
    hour, so the hours of a day add up to its daily rows): attempts, succeeded
    (status succeeded or refunded), failed, pending, and revenue_cents = the
    amount of the succeeded ones (0 without any). -#}
{% macro payment_attempt_measures() -%}
    count(*) as attempts,
    count(*) filter (where is_succeeded) as succeeded,
    count(*) filter (where is_failed) as failed,
    count(*) filter (where is_pending) as pending,
    coalesce(sum(amount_cents) filter (where is_succeeded), 0) as revenue_cents
{%- endmacro %}
