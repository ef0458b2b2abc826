{{ config(materialized='table') }}

{#- Active users (METRICS.md "Active user"): one row per user and UTC day with at
    least one accepted app event with that user_id. Carries the day's event counts,
    the sessions that started that day, and the user's previous and next active
    days (for rolling distinct-user windows without range joins). -#}

with

sessionized_events as (

    select * from {{ ref('int_sessions_sessionized') }}

),

user_days as (

    select
        tenant_id,
        user_id,
        event_date as activity_date,
        count(*) as events,
        count(*) filter (where is_session_start) as sessions_started,
        count(*) filter (where event_type = 'screen_view') as screens_viewed,
        count(*) filter (where event_type = 'match_created') as matches,
        count(*) filter (where event_type = 'message_sent') as messages
    from sessionized_events
    where user_id is not null
    group by tenant_id, user_id, event_date

),

final as (

    select
        *,
        lag(activity_date) over user_days_in_order as previous_activity_date,
        lead(activity_date) over user_days_in_order as next_activity_date
    from user_days
    window user_days_in_order as (partition by tenant_id, user_id order by activity_date)

)

select * from final
