-- depends_on: {{ ref('base_app__events') }}
-- depends_on: {{ source('audit', 'transform_runs') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'funnel_name', 'entity_type', 'entity_id'],
    on_schema_change='fail',
    indexes=[{'columns': ['tenant_id', 'funnel_name', 'entity_type', 'entity_id']}],
) }}

{%- set window_start -%}cast({{ incremental_window_start() }} as timestamp) at time zone 'UTC'{%- endset %}
{#- the funnels' step events: every business event of a step's event type, once per entity and instant -#}
{%- set funnel_step_events %}
    select distinct
        business_events.tenant_id,
        funnel_definitions.funnel_name,
        funnel_definitions.step_number,
        business_events.entity_type,
        business_events.entity_id,
        business_events.occurred_at
    from business_events
    inner join funnel_definitions
        on business_events.event_type = funnel_definitions.event_type
{%- endset %}

{#- Funnel progress (docs/metrics.md fct_funnel_steps), for every funnel of the seed
    funnel_definitions: an entity enters at its first step-1 event; it reaches step
    k at its first step-k event at or after the time it reached step k − 1, if that
    event is within window_days of entering (so a later step-k event can never
    count either). One row per entity, funnel and step reached.

    Computed step by step with a recursive CTE. Postgres allows no aggregate in a
    recursive term, so "the first step-k event at or after t" is found by an
    equi-join instead: it is the step-k event with occurred_at >= t whose previous
    step-k event (of the same entity) is before t. The recursive CTE is nested in a
    subquery so dbt unit tests can prepend their fixture CTEs.

    Incremental (delete+insert per entity): a run recomputes the touched users
    that are not final in a funnel, each from its entry as the table holds it
    (or the window's start), and every lead not final yet; an entity that
    entered before the funnel's lookback keeps its rows (docs/incremental.md). -#}

with

funnel_definitions as (

    select * from {{ ref('funnel_definitions') }}

),

business_events as not materialized (

    select * from {{ ref('int_business_events') }}

),

funnel_windows as (

    {{ funnel_windows('funnel_definitions') }}

),

{% if is_incremental() %}
-- users with a new event (touched_event_keys: the rows this run adds to the events, and those that
-- came into range since the last build). A user's business events are app events and session
-- starts (int_sessions_sessionized, whose rows change only for users with new events), so every
-- other user's progress is the table's already: only these users are recomputed.
{{ touched_user_ctes(user_column='entity_id') }}

-- per touched user and funnel, the instant its step events are read from: its entry as the table
-- holds it, or the window's start when the table holds no entry (a user that enters now does so at
-- a step-1 event in the window: every earlier event was in the last build). A user who entered
-- before the funnel's lookback (window start minus window_days) is final: nothing this run adds
-- can change it, so it is not read. Each read is an index range over the user's events
-- (int_sessions_sessionized on tenant_id, user_id, occurred_at): the cost follows the touched
-- users' recent events, not the history.
user_reads as materialized (

    select
        touched_users.tenant_id,
        funnel_windows.funnel_name,
        touched_users.entity_id,
        least(entries_built.entered_at, {{ window_start }}) as events_from
    from touched_users
    cross join funnel_windows
    -- its entry: one index lookup per touched user and funnel, never a scan of the table
    left join lateral (
        select built.entered_at
        from {{ this }} as built
        where
            built.tenant_id = touched_users.tenant_id
            and built.funnel_name = funnel_windows.funnel_name
            and built.entity_type = 'user'
            and built.entity_id = touched_users.entity_id
            and built.step_number = 1
        order by built.entered_at
        limit 1
    ) as entries_built on true
    where
        entries_built.entered_at is null
        or entries_built.entered_at >= {{ window_start }} - funnel_windows.window_days * interval '1 day'

),

user_step_events as (

    -- the touched users' step events: offset 0 keeps the lateral subquery from being flattened into
    -- a join, so it runs once per touched user and funnel as an index range over that user's
    -- events (in index order), never as a scan of every event
    select distinct
        user_reads.tenant_id,
        user_reads.funnel_name,
        user_events.step_number,
        user_events.entity_type,
        user_reads.entity_id,
        user_events.occurred_at
    from user_reads
    cross join lateral (
        select
            funnel_definitions.step_number,
            business_events.entity_type,
            business_events.occurred_at
        from business_events
        inner join funnel_definitions
            on business_events.event_type = funnel_definitions.event_type
        where
            business_events.tenant_id = user_reads.tenant_id
            and business_events.entity_type = 'user'
            and business_events.entity_id = user_reads.entity_id
            and business_events.occurred_at >= user_reads.events_from
            and funnel_definitions.funnel_name = user_reads.funnel_name
        order by business_events.occurred_at
        offset 0
    ) as user_events

),

lead_step_events as (

    -- other entities (leads: few, and their CRM timestamps may move): every one not final yet,
    -- from its events since the funnel's lookback
    {{ funnel_step_events }}
    inner join funnel_windows
        on funnel_definitions.funnel_name = funnel_windows.funnel_name
    -- the lead's entry if the table holds it as final: one index probe per event (tenant_id,
    -- funnel_name, entity_type, entity_id; limit 1 keeps it a probe), where a not exists became a
    -- scan and sort of the whole table
    left join lateral (
        select true as is_final
        from {{ this }} as final_entries
        where
            final_entries.tenant_id = business_events.tenant_id
            and final_entries.funnel_name = funnel_definitions.funnel_name
            and final_entries.entity_type = business_events.entity_type
            and final_entries.entity_id = business_events.entity_id
            and final_entries.step_number = 1
            and final_entries.entered_at < {{ window_start }} - funnel_windows.window_days * interval '1 day'
        order by final_entries.entered_at
        limit 1
    ) as final_entry on true
    where
        business_events.entity_type <> 'user'
        and business_events.occurred_at >= {{ window_start }} - funnel_windows.window_days * interval '1 day'
        and final_entry.is_final is null

),
{% endif %}
step_events as (

    {%- if is_incremental() %}
    select * from user_step_events
    union all
    select * from lead_step_events
    {%- else %}
    {{ funnel_step_events }}
    {%- endif %}

),

step_events_with_entry as (

    -- entering = the entity's first step-1 event (a window, not a join: no range
    -- join between events and entries)
    select
        *,
        min(occurred_at) filter (where step_number = 1) over (
            partition by tenant_id, funnel_name, entity_type, entity_id
        ) as entered_at
    from step_events

),

entries as materialized (

    select distinct
        tenant_id,
        funnel_name,
        entity_type,
        entity_id,
        entered_at
    from step_events_with_entry
    where step_number = 1

),

later_step_events as materialized (

    -- only events of entered entities between entering and the end of the window
    -- can be reached; an earlier step-k event is before any time step k − 1 can be
    -- reached, so dropping it leaves "the first step-k event at or after t" unchanged
    select
        step_events_with_entry.tenant_id,
        step_events_with_entry.funnel_name,
        step_events_with_entry.step_number,
        step_events_with_entry.entity_type,
        step_events_with_entry.entity_id,
        step_events_with_entry.occurred_at,
        lag(step_events_with_entry.occurred_at) over (
            partition by
                step_events_with_entry.tenant_id,
                step_events_with_entry.funnel_name,
                step_events_with_entry.step_number,
                step_events_with_entry.entity_type,
                step_events_with_entry.entity_id
            order by step_events_with_entry.occurred_at
        ) as previous_step_event_at
    from step_events_with_entry
    inner join funnel_windows
        on step_events_with_entry.funnel_name = funnel_windows.funnel_name
    where step_events_with_entry.step_number > 1
        and step_events_with_entry.occurred_at >= step_events_with_entry.entered_at
        and step_events_with_entry.occurred_at <= (
            step_events_with_entry.entered_at + funnel_windows.window_days * interval '1 day'
        )

),

steps_reached as (

    select * from (

        with recursive progress as (

            select
                entries.tenant_id,
                entries.funnel_name,
                entries.entity_type,
                entries.entity_id,
                entries.entered_at,
                1 as step_number,
                entries.entered_at as reached_at,
                cast(null as timestamptz) as previous_step_reached_at
            from entries

            union all

            select
                progress.tenant_id,
                progress.funnel_name,
                progress.entity_type,
                progress.entity_id,
                progress.entered_at,
                progress.step_number + 1 as step_number,
                next_step.occurred_at as reached_at,
                progress.reached_at as previous_step_reached_at
            from progress
            inner join later_step_events as next_step
                on progress.tenant_id = next_step.tenant_id
                and progress.funnel_name = next_step.funnel_name
                and progress.entity_type = next_step.entity_type
                and progress.entity_id = next_step.entity_id
                and next_step.step_number = progress.step_number + 1
                and next_step.occurred_at >= progress.reached_at
                and (
                    next_step.previous_step_event_at is null
                    or next_step.previous_step_event_at < progress.reached_at
                )
                -- later_step_events holds only events within the window of entering

        )

        select * from progress

    ) as recursion

),

final as (

    select
        tenant_id,
        funnel_name,
        entity_type,
        entity_id,
        step_number,
        entered_at,
        {{ truncate_to_period("'week'", utc_date('entered_at')) }} as cohort_week,
        reached_at,
        previous_step_reached_at,
        cast(extract(epoch from reached_at - previous_step_reached_at) as numeric(14, 3)) as seconds_from_previous
    from steps_reached

)

select * from final
