{#- The keys an incremental run's new events touch: one row per accepted, current
    event of base_app__events (tenant_id, user_id, event_id, occurred_at, event_date,
    hour_start) that this run brings into the event models, so a model rebuilds those keys only
    instead of the whole incremental window. An event counts when it occurred
    in the incremental window and before the as-of instant, and either
    - its row was added after the last successful build ended (_transformed_at,
      the dbt invocation that added it: this run's new batches, and those of a
      failed run since, whose downstream models did not finish), or
    - it occurred at or after the last successful build's as-of instant (an
      event received earlier but stamped ahead, which staging counts from the
      first run after it occurred).
    Every other accepted event was in the tables the last successful build left,
    so a key no such event touches keeps its rows. An event older than the window
    waits for the weekly full refresh, as in incremental_window_start. Without a
    successful build every event of the window counts. Both conditions are index
    ranges (_transformed_at, occurred_at), one branch of a union each (an `or` of
    the two would scan the whole window): the cost follows the new rows, not the
    history. Emits a complete select statement (rows repeat: an event can match
    both branches; select distinct the columns the model keys on); use it only on
    incremental runs. -#}
{% macro touched_event_keys() -%}
    {%- set window_start -%}cast({{ incremental_window_start() }} as timestamp) at time zone 'UTC'{%- endset -%}
    {#- what both branches select and filter on: the accepted, current events before the as-of instant -#}
    {%- set current_events -%}
    select
        touched.tenant_id,
        touched.user_id,
        touched.id as event_id,
        touched.occurred_at,
        {{ utc_date('touched.occurred_at') }} as event_date,
        date_trunc('hour', touched.occurred_at at time zone 'UTC') at time zone 'UTC' as hour_start
    from {{ ref('base_app__events') }} as touched
    where
        touched.is_current
        and touched.occurred_at < {{ as_of_end() }}
    {%- endset -%}
    -- rows added since the last successful build ended (index range on _transformed_at)
    {{ current_events }}
        and touched.occurred_at >= {{ window_start }}
        and touched._transformed_at > (
            select coalesce(max(last_build.ended_at), '-infinity')
            from {{ source('audit', 'transform_runs') }} as last_build
            where last_build.status = 'success'
        )

    union all

    -- events that came into range since the last successful build's instant (index range on occurred_at)
    {{ current_events }}
        and touched.occurred_at >= greatest(
            {{ window_start }},
            coalesce((
                select last_build.as_of_at
                from {{ source('audit', 'transform_runs') }} as last_build
                where last_build.status = 'success'
                order by last_build.ended_at desc
                limit 1
            ), '-infinity')
        )
{%- endmacro %}
