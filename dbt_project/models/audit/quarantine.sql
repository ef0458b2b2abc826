{#-
    audit.quarantine: every landed row staging did not accept because it broke a
    rule of docs/sources.md, with every reason code that applies.

    record is the row as landed, keyed by its source column names; for an
    event-file line it is the line's JSON object, or, for a line that is not a
    JSON object, {"file": ..., "line_number": ..., "line": ...}, or for an event
    file that could not be read (reason unreadable_file), {"file": ..., "error":
    ...}. Duplicates are
    not quarantined (they count in audit.batches.duplicates). quarantined_at is
    the row's _loaded_at, so a rebuild gives the same table.
-#}
{%- set tables = [
    ('app', 'organizations'),
    ('app', 'users'),
    ('billing', 'plans'),
    ('billing', 'subscription_events'),
    ('billing', 'payments'),
    ('billing', 'refunds'),
    ('billing', 'webhook_deliveries'),
    ('crm', 'sales_reps'),
    ('crm', 'leads'),
    ('crm', 'proposals'),
    ('crm', 'customers'),
    ('crm', 'marketing_spend'),
    ('games', 'tournaments'),
    ('games', 'tournament_entries'),
] %}

with

{% for source_name, table_name in tables %}
quarantined_{{ table_name }} as (

    select
        '{{ source_name }}' as source,
        '{{ table_name }}' as table_name,
        {{ landed_record(source_columns(source_name ~ '__' ~ table_name)) | indent(8) }} as record,
        reasons,
        _batch_id as batch_id,
        _loaded_at as quarantined_at
    from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }}
    where row_status = 'quarantined'

),

{% endfor %}
events as (

    -- only the quarantined events (an index scan: the rest are ~99% of 2M rows)
    select * from {{ ref('base_app__events') }}
    where row_status = 'quarantined'

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
        _loaded_at as quarantined_at
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
        events._loaded_at as quarantined_at
    from events
    inner join event_file_lines
        on events._batch_id = event_file_lines._batch_id
        and events._file_name = event_file_lines._file_name
        and events._line_number = event_file_lines._line_number
    where events.row_status = 'quarantined'
        and events.origin = 'file'

),

final as (

    {% for source_name, table_name in tables %}
    select * from quarantined_{{ table_name }}
    union all
    {% endfor %}
    select * from quarantined_db_events
    union all
    select * from quarantined_file_events

)

select * from final
