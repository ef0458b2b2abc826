{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='batch_id',
    on_schema_change='fail',
    indexes=[{'columns': ['batch_id']}, {'columns': ['transformed_at']}],
) }}

{#-
    Per batch of app events (app.events rows and event-file lines), how staging
    classified its rows: accepted, quarantined, duplicates. batch_outcomes reads
    these counts instead of counting base_app__events, which holds ~90% of every
    row ever landed, by batch on every run.

    Incremental by batch: base_app__events never changes a row it holds (events
    are append-only; a run adds the rows of whole new batches, stamped with the
    run's start in _transformed_at), so a batch's counts are final once its rows
    are staged. A run counts the rows stamped after the latest stamp this table
    holds (transformed_at; an index range of base_app__events) and keeps the
    other batches' counts: its cost follows the new batches. A batch stamped
    again is counted again whole (delete+insert on batch_id). A full refresh
    (the weekly one, a deletion on request, a backfill) counts every row.
-#}

with

events as (

    select * from {{ ref('base_app__events') }}
    {%- if is_incremental() %}
    where {{ staged_since_built() }}
    {%- endif %}

),

final as (

    select
        _batch_id as batch_id,
        {{ row_status_counts() | indent(8) }},
        max(_transformed_at) as transformed_at
    from events
    group by _batch_id

)

select * from final
