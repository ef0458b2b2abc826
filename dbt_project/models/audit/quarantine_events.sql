{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='batch_id',
    on_schema_change='fail',
    indexes=[{'columns': ['batch_id']}, {'columns': ['transformed_at']}],
) }}

{#-
    The quarantined app events of audit.quarantine (origin app.events or an event
    file), as audit.quarantine shows them: record is the row as landed for a
    database event, and for a file line the line's JSON object, or file, line
    number and text for a line that is not an object, or file and error for a
    file that could not be read.

    Incremental by batch: base_app__events never changes a row it holds (events
    are append-only; a run adds the rows of new batches, stamped with the run's
    start in _transformed_at), so a run adds the quarantined rows stamped after
    the latest stamp this table holds (transformed_at; an index range of
    base_app__events) and keeps the rest: its cost follows the new batches, not
    the ~1% of every event ever landed that is quarantined. A batch stamped
    again is replaced whole (delete+insert on batch_id). Deletion on request
    rewrites these rows like any landed record and asks for a full refresh.
-#}

with

events as (

    -- only the quarantined events (an index scan: the rest are ~99% of the events)
    select * from {{ ref('base_app__events') }}
    where
        row_status = 'quarantined'
        and {{ staged_since_built() if is_incremental() else 'true' }}

),

event_file_lines as (

    select * from {{ ref('base_app__event_file_lines') }}

),

quarantined_db_events as (

    select
        'app' as source,
        'events' as table_name,
        {{ landed_record(source_columns('app__events')) | indent(8) }} as record,
        reasons,
        _batch_id as batch_id,
        _loaded_at as quarantined_at,
        _transformed_at as transformed_at
    from events
    where row_status = 'quarantined'
        and origin = 'db'

),

quarantined_file_events as (

    select
        'app' as source,
        'event_files' as table_name,
        case
            when event_file_lines._error is not null
                then jsonb_build_object('file', event_file_lines._file_name, 'error', event_file_lines._error)
            when jsonb_typeof(event_file_lines.record) = 'object' then event_file_lines.record
            else
                jsonb_build_object(
                    'file', event_file_lines._file_name,
                    'line_number', event_file_lines._line_number,
                    'line', coalesce(event_file_lines._line, cast(event_file_lines.record as text))
                )
        end as record,
        events.reasons,
        events._batch_id as batch_id,
        events._loaded_at as quarantined_at,
        events._transformed_at as transformed_at
    from events
    inner join event_file_lines
        on events._batch_id = event_file_lines._batch_id
        and events._file_name = event_file_lines._file_name
        and events._line_number = event_file_lines._line_number
    where events.row_status = 'quarantined'
        and events.origin = 'file'

),

final as (

    select * from quarantined_db_events
    union all
    select * from quarantined_file_events

)

select * from final
