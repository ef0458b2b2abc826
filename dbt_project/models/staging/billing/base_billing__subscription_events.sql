{#-
    Every landed version of billing.subscription_events whose received_at is before the end of
    the as-of date, validated against docs/sources.md: reasons lists every rule the
    row breaks, row_status says whether it is accepted, quarantined or a
    duplicate (same id and content as a row landed earlier), is_current marks
    the first accepted landed copy of its id, the row stg_billing__subscription_events keeps.

    Append-only: a row whose id already landed with different content is a
    conflicting_duplicate (the id's first landed version stays, whatever its own
    validity). plan_id must name a plan landed by the as-of date in the row's own
    tenant (orphan_reference), and the subscription's ARR at that plan's current
    amount (amount_cents × quantity, × 12 for monthly plans) must fit the marts'
    money type, numeric(14,2), or the row is out_of_range (docs/staging-rules.md).

    A table, as every base model (why: validated_landed_versions).
-#}
{#- indexed on subscription_id: base_billing__payments looks up the subscriptions of the payments it validates
    again (changed_landed_versions) -#}
{{ config(
    materialized='table',
    indexes=[{'columns': ['subscription_id']}],
) }}

with

landed_subscription_events as (

    {{ landed_source_rows('billing__subscription_events', 'received_at') }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

plans as (

    select * from {{ ref('base_billing__plans') }}

),

known_plans as (

    -- every plan id landed at the as-of date within its tenant, whatever its status, with the
    -- amount and interval of its current (latest accepted) version: what MRR prices it at
    select
        tenant_id as plan_tenant_id,
        id as known_plan_id,
        max(amount_cents) filter (where is_current) as current_amount_cents,
        max(billing_interval) filter (where is_current) as current_billing_interval
    from plans
    where id is not null
    group by tenant_id, id

),

hashed_subscription_events as (

    select
        landed_subscription_events.*,
        {{ row_hash(source_columns('billing__subscription_events'), 'landed_subscription_events') }} as _row_hash
    from landed_subscription_events

),

first_versions as (

    {{ first_landed_versions('hashed_subscription_events', '_loaded_at, _batch_id') }}

),

validated as (

    select
        hashed_subscription_events.*,
        {{ reason_codes([
            unknown_tenant('hashed_subscription_events.tenant_id', 'tenants.known_tenant_id'),
            missing_required(['id', 'tenant_id', 'subscription_id', 'user_id', 'status', 'plan_id', 'quantity', 'occurred_at', 'received_at'], source_column_types('billing__subscription_events')),
            implausible_timestamp(['occurred_at', 'received_at']),
            invalid_enum({'event_type': ['created', 'activated', 'plan_changed', 'quantity_changed', 'past_due', 'canceled', 'reactivated'], 'status': ['trialing', 'active', 'past_due', 'canceled']}),
            future_timestamp('occurred_at', 'received_at'),
            orphan_reference('hashed_subscription_events.plan_id', 'known_plans.known_plan_id'),
            out_of_range(subscription_arr_out_of_range('known_plans.current_amount_cents', 'hashed_subscription_events.quantity', 'known_plans.current_billing_interval')),
            conflicting_duplicate('hashed_subscription_events._row_hash', 'first_versions.first_row_hash'),
        ]) }} as reasons
    from hashed_subscription_events
    left join tenants
        on hashed_subscription_events.tenant_id = tenants.known_tenant_id
    left join known_plans
        on hashed_subscription_events.tenant_id = known_plans.plan_tenant_id
        and hashed_subscription_events.plan_id = known_plans.known_plan_id
    left join first_versions
        on hashed_subscription_events.id = first_versions.first_version_id

),

-- append-only: staging keeps the first accepted landed copy of each id
{{ classify_landed_rows('validated', '_loaded_at, _batch_id', '_loaded_at, _batch_id, _row_hash') }}

select * from final
