{#-
    Every app event landed at the as-of date from both origins: app.events rows
    (origin 'db', visible when received_at is before the end of the as-of date)
    and event-file lines (origin 'file', see base_app__event_files), validated,
    with the reason codes that apply and the row's landing status. Events of
    months the raw retention purged come from history.app__events (their
    accepted current version, with the origin, file, line and batch they landed
    with), so a full refresh after a purge rebuilds the same staging events.

    Materialized as a table (not a view, unlike the staging default): ~2M rows
    are validated and ranked once per build, and stg_app__events, the quarantine
    and batch accounting all read the result.

    Both origins share one duplicate detection: the same event id with identical
    content landing again, from the database or a file, is a duplicate of the
    first landed copy. The same id landing with different content is quarantined
    as conflicting_duplicate: an event id names one event, and its first landed
    version (in landing order, whatever its own validity) stays the id's version.
    When that first version was itself quarantined the id has no current row:
    both versions are in audit.quarantine (see docs/staging-rules.md).
    is_current marks the first accepted landed copy of each id.

    An event file that could not be read lands as one row, line 0, with no
    fields: its reason is unreadable_file alone, as a line that is not a JSON
    object has invalid_json alone.

    Incremental by batch: a run validates only the rows of batches visible at
    its as-of date that are not in the table yet (new_batches) and classifies
    them against the rows already there: a copy identical to an earlier landed
    one is a duplicate, a copy that differs from the id's first landed version
    (in the table or among the new rows) is a conflicting_duplicate, and an id
    that already has an accepted copy gets no new current row (events are
    append-only, so earlier rows never change). Every lookup into the table is
    keyed by the new rows (index on id, _row_hash; an id-less row by content),
    so an incremental run costs what its new batches hold, not the history.
    _transformed_at stamps each row with the start of the dbt invocation that
    added it: the event models downstream rebuild only the keys of the rows
    added since the last successful build (touched_event_keys).
-#}
-- depends_on: {{ ref('base_audit__batches') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_batch_id',
    on_schema_change='fail',
    indexes=[
        {'columns': ['_batch_id', 'row_status']},
        {'columns': ['row_status']},
        {'columns': ['id', '_row_hash']},
        {'columns': ['occurred_at']},
        {'columns': ['_transformed_at']},
    ],
) }}

with
{% if is_incremental() %}
new_batches as (

    select batches.batch_id
    from {{ ref('base_audit__batches') }} as batches
    where
        batches.as_of_at <= {{ as_of_end() }}
        and not exists (
            select 1
            from {{ this }} as landed
            where landed._batch_id = batches.batch_id
        )

),
{% endif %}
landed_db_events as (

    select
        {%- for column in source_columns('app__events') %}
        {%- if column == 'properties' %}
        -- JSON null is no properties, as an absent or null field in an event file
        nullif(properties, cast('null' as jsonb)) as properties,
        {%- else %}
        {{ column }},
        {%- endif %}
        {%- endfor %}
        _batch_id,
        _loaded_at
    from {{ source('raw', 'app__events') }}
    -- rows received after the as-of date are not visible: reruns of a past date see the same rows;
    -- a row without a key is visible once landed
    where
        {{ extraction_key_visible('received_at') }}
        {%- if is_incremental() %}
        -- = any(array(...)): an index scan per new batch
        and _batch_id = any(array(select new_batches.batch_id from new_batches))
        {%- endif %}

),

event_files as (

    select * from {{ ref('base_app__event_files') }}

),

landed_file_events as (

    select * from event_files
    where
        is_visible
        {%- if is_incremental() %}
        and _batch_id = any(array(select new_batches.batch_id from new_batches))
        {%- endif %}

),

history as (

    select * from {{ source('history', 'app__events') }}

),

audit_batches as (

    select * from {{ ref('base_audit__batches') }}

),

-- events whose raw rows the retention purged: their accepted current version, with the origin, file,
-- line and batch they landed with (meridian.warehouse.retention), visible as their raw rows were
history_events as (

    select history.*
    from history
    left join audit_batches
        on history._batch_id = audit_batches.batch_id
    where
        case
            when history.origin = 'db' then {{ extraction_key_visible('history.received_at') }}
            else coalesce(
                    audit_batches.as_of_at <= {{ as_of_end() }}, history.received_at < {{ as_of_end() }}, true
                )
        end
        {%- if is_incremental() %}
        and history._batch_id = any(array(select new_batches.batch_id from new_batches))
        {%- endif %}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

landed_events as (

    select
        'db' as origin,
        cast(null as text) as _file_name,
        cast(null as integer) as _line_number,
        {{ source_columns('app__events') | join(',\n        ') }},
        true as is_json_object,
        false as is_malformed,
        _batch_id,
        _loaded_at
    from landed_db_events

    union all

    select
        'file' as origin,
        _file_name,
        _line_number,
        {{ source_columns('app__events') | join(',\n        ') }},
        is_json_object,
        is_malformed,
        _batch_id,
        _loaded_at
    from landed_file_events

    union all

    select
        origin,
        _file_name,
        _line_number,
        {{ source_columns('app__events') | join(',\n        ') }},
        true as is_json_object,
        false as is_malformed,
        _batch_id,
        _loaded_at
    from history_events

),

hashed_events as (

    select
        landed_events.*,
        {{ row_hash(source_columns('app__events'), 'landed_events') }} as _row_hash,
        -- the dbt invocation that added the row: touched_event_keys() finds a run's new rows by it
        cast('{{ run_started_at }}' as timestamptz) as _transformed_at
    from landed_events

),
{% if is_incremental() %}
-- the rows the table already holds for the new rows' ids, looked up once (index on id, _row_hash):
-- the first landed versions, the identical copies and the accepted copies below all read them
landed_for_new_ids as materialized (

    select
        landed.id,
        landed._row_hash,
        landed._loaded_at,
        landed._batch_id,
        landed.origin,
        landed._file_name,
        landed._line_number,
        landed.row_status
    from {{ this }} as landed
    where landed.id in (select hashed_events.id from hashed_events)

),

-- the new rows' ids as the table already holds them, with the new rows: their first landed version
candidate_versions as (

    select
        landed_for_new_ids.id,
        landed_for_new_ids._row_hash,
        landed_for_new_ids._loaded_at,
        landed_for_new_ids._batch_id,
        landed_for_new_ids.origin,
        landed_for_new_ids._file_name,
        landed_for_new_ids._line_number
    from landed_for_new_ids

    union all

    select
        id,
        _row_hash,
        _loaded_at,
        _batch_id,
        origin,
        _file_name,
        _line_number
    from hashed_events

),

first_versions as (

    {{ first_landed_versions('candidate_versions', '_loaded_at, _batch_id, origin, _file_name, _line_number') }}

),
{% else %}
first_versions as (

    {{ first_landed_versions('hashed_events', '_loaded_at, _batch_id, origin, _file_name, _line_number') }}

),
{% endif %}
validated as (

    select
        hashed_events.*,
        case
            -- an unreadable file's row and a line that is not a JSON object have no fields to check
            when not hashed_events.is_json_object
                then array[coalesce({{ unreadable_file('hashed_events._line_number') }}, 'invalid_json')]
            else {{ reason_codes([
                unknown_tenant('hashed_events.tenant_id', 'tenants.known_tenant_id'),
                missing_required(['id', 'tenant_id', 'event_type', 'occurred_at', 'received_at'], source_column_types('app__events')),
                future_timestamp('occurred_at', 'received_at'),
                implausible_timestamp(['occurred_at', 'received_at']),
                invalid_json('properties', 'is_malformed'),
                conflicting_duplicate('hashed_events._row_hash', 'first_versions.first_row_hash'),
            ]) | indent(4) }}
        end as reasons
    from hashed_events
    left join tenants
        on hashed_events.tenant_id = tenants.known_tenant_id
    left join first_versions
        on hashed_events.id = first_versions.first_version_id

),

-- reasons closes the order only to have the parallel workers compute it below the
-- sort (2M rows); it never breaks a tie between rows that differ
-- staging counts each event id once: its first accepted landed copy
{% if is_incremental() %}
-- the new rows' ids as the table already holds them: identical copies landed before, and
-- whether an accepted copy exists (then that one stays the current row)
-- both lookups are index scans on (id, _row_hash) for the new rows' keys only, never a scan of the
-- table: their cost follows the new batches, not the history
earlier_copies as (

    select
        landed_for_new_ids.id as copied_id,
        landed_for_new_ids._row_hash as copied_row_hash,
        count(*) as copies
    from landed_for_new_ids
    group by landed_for_new_ids.id, landed_for_new_ids._row_hash

    union all

    -- rows without an id number their copies together, as in a full build: their content is the key
    select
        cast(null as text) as copied_id,
        landed._row_hash as copied_row_hash,
        count(*) as copies
    from {{ this }} as landed
    where
        landed.id is null
        and landed._row_hash in (
            select validated._row_hash from validated
            where validated.id is null
        )
    group by landed._row_hash

),

earlier_accepted as (

    select distinct landed_for_new_ids.id as accepted_id
    from landed_for_new_ids
    where landed_for_new_ids.row_status = 'accepted'

),
{% endif %}
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id, origin, _file_name, _line_number, reasons',
    '_loaded_at, _batch_id, origin, _file_name, _line_number',
    earlier_copies='earlier_copies' if is_incremental() else none,
    earlier_accepted='earlier_accepted' if is_incremental() else none,
) }}

select * from final
