{#-
    The landed event-file lines exactly as they came (a view over
    raw.app__event_files): record is the parsed JSON value, _line the text of a
    line that is not a JSON object. An event file that could not be read lands
    as one row, line 0, with the read error in _error (reason unreadable_file).
    base_app__event_files parses them; the quarantine takes the landed record
    of a quarantined line from here, so the parsed table need not carry a copy
    of every record.
-#}
with

event_file_lines as (

    select * from {{ source('raw', 'app__event_files') }}

),

final as (

    select
        _file_name,
        _line_number,
        _line,
        record,
        _error,
        _batch_id,
        _loaded_at
    from event_file_lines

)

select * from final
