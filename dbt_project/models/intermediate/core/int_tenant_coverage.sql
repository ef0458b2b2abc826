{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='tenant_id',
    on_schema_change='fail',
) }}

{#- The covered range of every tenant (docs/metrics.md conventions): from its first
    activity (first signup, app event, subscription event or payment) to the run's
    as-of date. The tenant_spine macro reads it, so every mart's zero rows start on
    the same day. A table: every spine of every mart reads it.

    Incremental (every tenant rewritten, a few rows): the first app event
    (first_event_at) is the one lookup over a table that grows with history, so
    an incremental run reads only the window's events (int_sessions_sessionized
    rebuilds only the days from incremental_window_start on). Its events before
    the window are the ones the table saw: a first event before the window
    stands, otherwise the window's first event is the tenant's first (the first
    row of the occurred_at index from the window's start, per such tenant).
    Signups, subscription events and payments are small and read whole. -#}

{%- set window_start -%}cast({{ incremental_window_start() }} as timestamp) at time zone 'UTC'{%- endset %}

with

organizations as (

    select * from {{ ref('stg_app__organizations') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

payment_attempts as (

    select * from {{ ref('int_payments_attempts') }}

),

event_starts as (

    select
        tenant_id,
        min(occurred_at) as first_event_at
    from (
        {%- if is_incremental() %}
        -- a first event before the window: the window cannot hold an earlier one
        select
            built.tenant_id,
            built.first_event_at as occurred_at
        from {{ this }} as built
        where built.first_event_at < {{ window_start }}

        union all

        -- the window's first event of a tenant without an earlier one: one index step on
        -- occurred_at per such tenant, no scan of the window's events
        select
            organizations.id as tenant_id,
            first_in_window.occurred_at
        from organizations
        cross join
            lateral (
                select sessionized_events.occurred_at
                from sessionized_events
                where
                    sessionized_events.tenant_id = organizations.id
                    and sessionized_events.occurred_at >= {{ window_start }}
                order by sessionized_events.occurred_at
                limit 1
            ) as first_in_window
        where not exists (
                select 1
                from {{ this }} as earlier
                where
                    earlier.tenant_id = organizations.id
                    and earlier.first_event_at < {{ window_start }}
            )
        {%- else %}
        select
            sessionized_events.tenant_id,
            sessionized_events.occurred_at
        from sessionized_events
        {%- endif %}
    ) as events_seen
    group by tenant_id

),

activity_starts as (

    select
        tenant_id,
        min(signup_at) as first_at
    from users
    where signup_at < {{ as_of_end() }}
    group by tenant_id

    union all

    select
        tenant_id,
        first_event_at as first_at
    from event_starts

    union all

    select
        tenant_id,
        min(valid_from) as first_at
    from subscription_states
    group by tenant_id

    union all

    select
        tenant_id,
        min(created_at) as first_at
    from payment_attempts
    group by tenant_id

),

first_activity as (

    select
        tenant_id,
        min(first_at) as first_activity_at
    from activity_starts
    group by tenant_id

),

final as (

    select
        organizations.id as tenant_id,
        first_activity.first_activity_at,
        {{ utc_date('first_activity.first_activity_at') }} as covered_from_date,
        {{ as_of_date() }} as covered_to_date,
        event_starts.first_event_at
    from organizations
    left join first_activity
        on organizations.id = first_activity.tenant_id
    left join event_starts
        on organizations.id = event_starts.tenant_id

)

select * from final
