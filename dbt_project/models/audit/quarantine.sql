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
quarantined_events as (

    -- the app events' and event-file lines' (incremental by batch: quarantine_events)
    select
        source,
        table_name,
        record,
        reasons,
        batch_id,
        quarantined_at
    from {{ ref('quarantine_events') }}

),

final as (

    {% for source_name, table_name in tables %}
    select * from quarantined_{{ table_name }}
    union all
    {% endfor %}
    select * from quarantined_events

)

select * from final
