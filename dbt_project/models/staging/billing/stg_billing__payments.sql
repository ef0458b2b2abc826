{#-
    One row per billing.payments id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _billing__models.yml.
-#}
with

base_payments as (

    select * from {{ ref('base_billing__payments') }}

),

current_payments as (

    -- the latest accepted version of each id
    select * from base_payments
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(user_id as text) as user_id,
        cast(invoice_id as text) as invoice_id,
        cast(subscription_id as text) as subscription_id,
        cast(amount_cents as integer) as amount_cents,
        cast(currency as char(3)) as currency,
        cast(method as text) as method,
        cast(status as text) as status,
        cast(failure_reason as text) as failure_reason,
        cast(attempt_number as integer) as attempt_number,
        cast(resource as text) as resource,
        cast(created_at as timestamptz) as created_at,
        cast(settled_at as timestamptz) as settled_at,
        cast(updated_at as timestamptz) as updated_at
    from current_payments

)

select * from final
