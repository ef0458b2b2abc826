{#- Business events for funnels: every app event with a user (entity_type 'user',
    entity_id = user_id); a `session_started` event per session of a user
    (int_sessions_sessionized, at the session's first event: the onboarding funnel's
    first_session step); and events derived from CRM timestamps, whose entity is
    the lead (entity_type 'lead', entity_id = lead id):
    lead_created (leads.created_at), lead_qualified (leads.qualified_at),
    proposal_sent (proposals.sent_at), proposal_accepted (proposals.decided_at of
    accepted proposals), customer_created (customers.created_at of customers with a
    lead). Only events that occurred by the end of the as-of date. -#}

with

-- not materialized: read twice below, PostgreSQL would otherwise materialize every sessionized
-- event before a reader's filter applies; inlined, a filter on tenant, user and time (the
-- incremental funnel progress) reaches the table's (tenant_id, user_id, occurred_at) index
sessionized_events as not materialized (

    select * from {{ ref('int_sessions_sessionized') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

proposals as (

    select * from {{ ref('stg_crm__proposals') }}

),

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

app_events as (

    select
        tenant_id,
        'app' as event_source,
        event_id as business_event_id,
        'user' as entity_type,
        user_id as entity_id,
        event_type,
        occurred_at
    from sessionized_events
    where user_id is not null

),

session_events as (

    -- one per session: the event that starts it (ties at the start instant flag
    -- one event, so the session has one start)
    select
        tenant_id,
        'session' as event_source,
        'session_started:' || event_id as business_event_id,
        'user' as entity_type,
        user_id as entity_id,
        'session_started' as event_type,
        occurred_at
    from sessionized_events
    where user_id is not null and is_session_start

),

crm_events as (

    select
        tenant_id,
        'lead_created' as event_type,
        id as source_id,
        id as lead_id,
        created_at as occurred_at
    from leads

    union all

    select
        tenant_id,
        'lead_qualified' as event_type,
        id as source_id,
        id as lead_id,
        qualified_at as occurred_at
    from leads
    where qualified_at is not null

    union all

    select
        tenant_id,
        'proposal_sent' as event_type,
        id as source_id,
        lead_id,
        sent_at as occurred_at
    from proposals
    where sent_at is not null

    union all

    select
        tenant_id,
        'proposal_accepted' as event_type,
        id as source_id,
        lead_id,
        decided_at as occurred_at
    from proposals
    where status = 'accepted' and decided_at is not null

    union all

    select
        tenant_id,
        'customer_created' as event_type,
        id as source_id,
        lead_id,
        created_at as occurred_at
    from customers
    where lead_id is not null

),

crm_business_events as (

    select
        tenant_id,
        'crm' as event_source,
        event_type || ':' || source_id as business_event_id,
        'lead' as entity_type,
        lead_id as entity_id,
        event_type,
        occurred_at
    from crm_events
    where occurred_at < {{ as_of_end() }}

),

final as (

    select * from app_events
    union all
    select * from session_events
    union all
    select * from crm_business_events

)

select * from final
