{#- The days (tenant_id, changed_date: UTC date of created_at) of the payment rows
    of stg_billing__payments that changed in the incremental window (updated_at,
    the extraction key, in it: a payment settled, failed or refunded late becomes
    visible only then), so a payment mart rebuilds those days whatever their date.
    Emits a complete select statement: use it as the body of a CTE. -#}
{% macro changed_payment_days() -%}
    select distinct
        payments.tenant_id,
        {{ utc_date('payments.created_at') }} as changed_date
    from {{ ref('stg_billing__payments') }} as payments
    where {{ in_incremental_window(utc_date('payments.updated_at')) }}
{%- endmacro %}
