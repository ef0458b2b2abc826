{#-
    Every line of every landed event file, parsed into the columns of app.events
    (the line itself stays in base_app__event_file_lines).

    Materialized as a table (not a view, unlike the staging default): event files
    carry up to millions of lines and base_app__events reads them once per build.

    Parsing never fails: text fields take the JSON value's text as ->> reads it
    (numbers and booleans as their JSON text, objects and arrays too), timestamps
    go through safe_cast_timestamptz (null when not ISO-8601), country is null
    when longer than 2 characters. is_malformed marks a line that is not a JSON
    object or has a field of the wrong type (an object or array where text is
    expected, a timestamp that does not parse, a country too long):
    base_app__events gives it reason `invalid_json`, and a required timestamp
    that did not parse is also `missing_required`.

    Visibility: a file is loaded whole by the run of its batch's as-of date
    (audit.batches.as_of_date), so a line is visible to runs of that date and
    later; lines of batches missing from audit.batches (raw filled by hand) fall
    back to their received_at, like app.events rows. Every line is kept here
    with is_visible; invisible lines are counted as deferred in batch_outcomes.

    Incremental by batch: a run parses only the lines of batches that became
    visible since the last run (new_batches; whole files, so a batch is visible
    or not as a whole) and replaces that batch's rows (delete+insert on
    _batch_id), so an invisible batch kept by a full refresh is replaced when it
    becomes visible. Lines whose batch is missing from audit.batches (raw filled
    by hand) are read only by a full refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_batch_id',
    on_schema_change='fail',
    indexes=[{'columns': ['_batch_id']}],
) }}

{%- set text_fields = ['id', 'tenant_id', 'user_id', 'session_id', 'event_type', 'platform', 'app_version'] %}
{%- set timestamp_fields = ['occurred_at', 'received_at'] %}

with

event_file_lines as (

    select * from {{ ref('base_app__event_file_lines') }}

),

batches as (

    select * from {{ ref('base_audit__batches') }}

),
{% if is_incremental() %}
new_batches as (

    -- visible at this as-of date and not yet parsed as visible
    select batches.batch_id
    from batches
    where
        batches.as_of_at <= {{ as_of_end() }}
        and not exists (
            select 1
            from {{ this }} as parsed
            where parsed._batch_id = batches.batch_id and parsed.is_visible
        )

),
{% endif %}

extracted as (

    select
        _file_name,
        _line_number,
        _line,
        record,
        coalesce(jsonb_typeof(record) = 'object', false) as is_json_object,
        {%- for field in text_fields %}
        record ->> '{{ field }}' as {{ field }},
        {%- endfor %}
        nullif(record -> 'properties', cast('null' as jsonb)) as properties,
        record ->> 'country' as country_text,
        {%- for field in timestamp_fields %}
        record ->> '{{ field }}' as {{ field }}_text,
        {%- endfor %}
        _batch_id,
        _loaded_at
    from event_file_lines
    {%- if is_incremental() %}
    -- = any(array(...)): an index scan per new batch
    where _batch_id = any(array(select new_batches.batch_id from new_batches))
    {%- endif %}

),

typed as (

    select
        extracted.*,
        case when char_length(extracted.country_text) <= 2 then cast(extracted.country_text as char(2)) end as country,
        {%- for field in timestamp_fields %}
        parsed_timestamps.{{ field }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from extracted
    -- a function call in from is evaluated once per line, where a plain expression would be
    -- inlined and parsed again wherever it is used (is_malformed); unnest keeps the plan parallel
    cross join lateral unnest(
        {%- for field in timestamp_fields %}
        array[{{ safe_cast_timestamptz('extracted.' ~ field ~ '_text') | indent(8) }}]{{ ',' if not loop.last }}
        {%- endfor %}
    ) as parsed_timestamps ({{ timestamp_fields | join(', ') }})

),

checked as (

    select
        typed.*,
        coalesce(
            not typed.is_json_object
            -- an object or array is no text value (the prefix test spares most jsonb lookups)
            {%- for field in text_fields %}
            or (
                left(typed.{{ field }}, 1) in ('{', '[')
                and jsonb_typeof(typed.record -> '{{ field }}') in ('object', 'array')
            )
            {%- endfor %}
            or (typed.country_text is not null and typed.country is null)
            {%- for field in timestamp_fields %}
            or (typed.{{ field }}_text is not null and typed.{{ field }} is null)
            {%- endfor %},
            false
        ) as is_malformed
    from typed

),

final as (

    select
        checked._file_name,
        checked._line_number,
        checked.is_json_object,
        {%- for column in source_columns('app__events') %}
        checked.{{ column }},
        {%- endfor %}
        checked.is_malformed,
        coalesce(
            batches.as_of_at <= {{ as_of_end() }},
            checked.received_at < {{ as_of_end() }},
            true
        ) as is_visible,
        checked._batch_id,
        checked._loaded_at
    from checked
    left join batches
        on checked._batch_id = batches.batch_id

)

select * from final
