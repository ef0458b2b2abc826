"""The audit schema's tables: batches, raw purges, watermarks, loaded files, pipeline runs, dbt node results,
data-quality alerts, deletion and full-refresh requests.

One idempotent script (``create ... if not exists``, columns added with ``add column if not exists``), run by
:func:`meridian.warehouse.bootstrap.ensure_warehouse` after the schemas and raw tables, and by
meridian.delivery.schema before its own tables. A change here is a change of the bootstrap (its fingerprint,
meridian.warehouse.bootstrap.BOOTSTRAP_MODULES).
"""

from __future__ import annotations

AUDIT_DDL = """
create table if not exists audit.batches (
    batch_id bigserial primary key,
    source text not null,
    table_name text not null,
    as_of_date date not null,
    window_start timestamptz,
    window_end timestamptz not null,
    file_name text,
    file_checksum text,
    landed integer not null,
    accepted integer,
    quarantined integer,
    duplicates integer,
    loaded_at timestamptz not null default clock_timestamp(),
    reconciled_at timestamptz
);
-- the run's as-of instant (batches of runs before 2026-12 have only the date: the end of that day)
alter table audit.batches add column if not exists as_of_at timestamptz;
update audit.batches set as_of_at = (as_of_date + 1)::timestamp at time zone 'UTC' where as_of_at is null;
create index if not exists batches__as_of_at on audit.batches (as_of_at);
-- when the raw retention dropped rows of the batch (its reconciled counts stay as they were)
alter table audit.batches add column if not exists purged_at timestamptz;
-- one row per month partition of a raw event table the retention dropped
create table if not exists audit.raw_purges (
    table_name text not null,
    month date not null,
    rows_purged bigint not null,
    events_kept_in_history bigint not null,
    batches integer not null,
    as_of_at timestamptz not null,
    purged_at timestamptz not null default clock_timestamp(),
    primary key (table_name, month)
);
create table if not exists audit.watermarks (
    source text not null,
    table_name text not null,
    watermark timestamptz not null,
    batch_id bigint not null,
    updated_at timestamptz not null default clock_timestamp(),
    primary key (source, table_name)
);
-- the source's pg_current_snapshot() of the load that set the watermark: the next run also reads the rows
-- that snapshot could not see (meridian.extract.tables); null until the first load that records it
alter table audit.watermarks add column if not exists source_snapshot text;
create table if not exists audit.loaded_files (
    file_name text not null,
    checksum text not null,
    batch_id bigint not null,
    lines integer not null,
    loaded_at timestamptz not null default clock_timestamp(),
    primary key (file_name, checksum)
);
-- why a file was rejected as unreadable (moved to rejected/; lines 0); null for a loaded file
alter table audit.loaded_files add column if not exists error text;
-- each event file's load looks its checksum up (a copy under another name is only moved): an index keeps that
-- lookup from reading every file ever loaded
create index if not exists loaded_files__checksum on audit.loaded_files (checksum, loaded_at);
-- one row per Airflow task try (meridian.quality.pipeline_runs callbacks): state 'running' from the
-- start of the try, then its final state (success, failed, up_for_retry, skipped), or 'killed' when
-- the try's process died without reporting
create table if not exists audit.pipeline_runs (
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    started_at timestamptz not null,
    ended_at timestamptz,
    state text not null,
    rows_in bigint,
    rows_out bigint,
    error text,
    map_index integer not null default -1,
    try_number integer not null default 1,
    primary key (dag_id, run_id, task_id, map_index, try_number)
);
-- tables created before tries were recorded: one row per task; add the try columns and key once
do $$
begin
    if not exists (
        select 1 from information_schema.columns
        where table_schema = 'audit' and table_name = 'pipeline_runs' and column_name = 'try_number'
    ) then
        alter table audit.pipeline_runs
            add column map_index integer not null default -1,
            add column try_number integer not null default 1,
            drop constraint pipeline_runs_pkey,
            add primary key (dag_id, run_id, task_id, map_index, try_number);
    end if;
end
$$;
create index if not exists pipeline_runs__started on audit.pipeline_runs (started_at);
-- the process of the try (host, pid, process start), so a try killed without its callbacks can be told
-- from one still running and marked 'killed' (meridian.quality.pipeline_runs.sweep_killed_tries)
alter table audit.pipeline_runs add column if not exists hostname text;
alter table audit.pipeline_runs add column if not exists pid integer;
alter table audit.pipeline_runs add column if not exists process_started_at timestamptz;
create index if not exists pipeline_runs__running on audit.pipeline_runs (hostname) where state = 'running';
create table if not exists audit.dbt_node_results (
    run_id text not null,
    invocation_id text not null,
    command text not null,
    node text not null,
    resource_type text not null,
    status text not null,
    execution_seconds numeric(10,3),
    rows_affected bigint,
    failures bigint,
    message text,
    as_of_date date,
    completed_at timestamptz not null default clock_timestamp(),
    primary key (invocation_id, node)
);
create index if not exists dbt_node_results__run on audit.dbt_node_results (run_id);
create index if not exists dbt_node_results__as_of on audit.dbt_node_results (as_of_date);
create table if not exists audit.data_quality_alerts (
    alert_id bigserial primary key,
    alert_type text not null,
    table_name text,
    column_name text,
    message text not null,
    severity text not null check (severity in ('low', 'medium', 'high', 'critical')),
    threshold numeric,
    actual_value numeric,
    detected_at timestamptz not null default clock_timestamp(),
    is_resolved boolean not null default false,
    tenant_id text,
    as_of_date date,
    dedup_key text,
    notified_at timestamptz
);
-- the alert types of meridian.warehouse.alerts.ALERT_TYPES; the check is replaced (once) when a warehouse
-- predates one of them
do $$
declare
    wanted text[] := array['missing_data', 'data_spike', 'data_drop', 'freshness', 'test_failure',
                           'new_event_type', 'quarantine', 'schema_change'];
begin
    if not exists (
        select 1 from pg_constraint
        where conrelid = 'audit.data_quality_alerts'::regclass
          and conname = 'data_quality_alerts_alert_type_check'
          and (select bool_and(pg_get_constraintdef(oid) like '%''' || wanted_type || '''%')
               from unnest(wanted) as wanted_type)
    ) then
        alter table audit.data_quality_alerts drop constraint if exists data_quality_alerts_alert_type_check;
        execute format('alter table audit.data_quality_alerts add constraint data_quality_alerts_alert_type_check '
                       'check (alert_type = any (%L::text[]))', wanted);
    end if;
end
$$;
create unique index if not exists data_quality_alerts__dedup
    on audit.data_quality_alerts (dedup_key) where dedup_key is not null;
-- what meridian.quality.notify reads: the alerts still to be e-mailed
create index if not exists data_quality_alerts__to_notify
    on audit.data_quality_alerts (alert_id) where notified_at is null and severity in ('high', 'critical');
create index if not exists data_quality_alerts__as_of on audit.data_quality_alerts (as_of_date);
-- deletions on request (meridian.warehouse.deletion: tenant purge, user forget): who, when, what, how many
-- rows per table. A forgotten user is logged by the pseudonym that replaced the id, never by the id.
create table if not exists audit.deletion_requests (
    request_id bigserial primary key,
    action text not null check (action in ('tenant_purge', 'user_forget')),
    tenant_id text not null,
    pseudonym text,
    requested_by text not null,
    database_user text not null default session_user,
    requested_at timestamptz not null default clock_timestamp(),
    rows_changed bigint not null,
    counts jsonb not null,
    roles_dropped text[] not null default '{}'
);
-- full refreshes asked for outside a run (meridian.warehouse.rebuild_requests): pending while cleared_at is null
create table if not exists audit.full_refresh_requests (
    request_id bigserial primary key,
    reason text not null check (reason <> ''),
    requested_at timestamptz not null default clock_timestamp(),
    cleared_at timestamptz
);
create index if not exists full_refresh_requests__pending
    on audit.full_refresh_requests (request_id) where cleared_at is null;
"""
