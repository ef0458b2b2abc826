"""Warehouse objects the pipeline owns outside dbt: schemas, raw tables, audit tables, schema security.

Everything is ``create ... if not exists``: running it again is harmless, and the
pipeline runs it before every extract so a fresh warehouse needs no set-up.
"""

from __future__ import annotations

import psycopg2.extensions

from meridian.sources.schema import TABLES
from meridian.warehouse.security import ensure_security

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "reporting", "security")

EVENT_FILES_TABLE = "app__event_files"

# The loader sets these two settings in its transaction, so COPY fills the batch
# columns without rewriting every row; an insert without them fails on not null.
BATCH_COLUMNS = (
    "_batch_id bigint not null default nullif(current_setting('meridian.batch_id', true), '')::bigint,\n"
    "    _loaded_at timestamptz not null default nullif(current_setting('meridian.loaded_at', true), '')::timestamptz"
)

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
create table if not exists audit.watermarks (
    source text not null,
    table_name text not null,
    watermark timestamptz not null,
    batch_id bigint not null,
    updated_at timestamptz not null default clock_timestamp(),
    primary key (source, table_name)
);
create table if not exists audit.loaded_files (
    file_name text not null,
    checksum text not null,
    batch_id bigint not null,
    lines integer not null,
    loaded_at timestamptz not null default clock_timestamp(),
    primary key (file_name, checksum)
);
-- one row per Airflow task try (meridian.quality.pipeline_runs callbacks): state 'running' from the
-- start of the try, then its final state (success, failed, up_for_retry, skipped)
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
    alert_type text not null check (alert_type in
        ('missing_data', 'data_spike', 'data_drop', 'freshness', 'test_failure', 'new_event_type', 'quarantine')),
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
create unique index if not exists data_quality_alerts__dedup
    on audit.data_quality_alerts (dedup_key) where dedup_key is not null;
-- what meridian.quality.notify reads: the alerts still to be e-mailed
create index if not exists data_quality_alerts__to_notify
    on audit.data_quality_alerts (alert_id) where notified_at is null and severity in ('high', 'critical');
create index if not exists data_quality_alerts__as_of on audit.data_quality_alerts (as_of_date);
"""


# the read API's keys (meridian.serve.api.keys): only the sha256 of each key's secret is stored
API_KEYS_DDL = """
create schema if not exists security;
create table if not exists security.api_keys (
    key_id text primary key,
    tenant_id text not null,
    name text,
    secret_sha256 text not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
create index if not exists api_keys__tenant on security.api_keys (tenant_id);
-- reports generated through the API: any API process answers a job's status
create table if not exists security.api_report_jobs (
    job_id text primary key,
    tenant_id text not null,
    key_id text,
    status text not null check (status in ('queued', 'rendering', 'done', 'failed')),
    request jsonb not null,
    folder text,
    files text[] not null default '{}',
    mailed_to text[],
    error text,
    created_at timestamptz not null default now(),
    finished_at timestamptz
);
-- the HMAC key of report download links, shared by every API process (MERIDIAN_API_SIGNING_KEY overrides)
create table if not exists security.api_signing_key (
    only_row boolean primary key default true check (only_row),
    secret text not null
);
"""


def ensure_api_keys(conn: psycopg2.extensions.connection) -> None:
    """The API's tables: keys, report jobs, the link-signing key (idempotent; ``ensure_warehouse`` runs it too)."""
    import secrets

    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.bootstrap'))")
        cur.execute(API_KEYS_DDL)
        cur.execute("insert into security.api_signing_key (secret) values (%s) on conflict do nothing",
                    (secrets.token_hex(32),))


def raw_table_ddl() -> list[str]:
    statements = []
    for table in TABLES:
        cols = ",\n    ".join(f"{name} {ctype}" for name, ctype in table.columns)
        statements.append(
            f"create table if not exists raw.{table.raw_table} (\n    {cols},\n"
            f"    {BATCH_COLUMNS}\n)"
        )
        statements.append(
            f"create index if not exists {table.raw_table}__batch on raw.{table.raw_table} (_batch_id)"
        )
    statements.append(
        f"""create table if not exists raw.{EVENT_FILES_TABLE} (
    _file_name text not null,
    _line_number integer not null,
    _line text,
    record jsonb,
    {BATCH_COLUMNS}
)"""
    )
    statements.append(
        f"create index if not exists {EVENT_FILES_TABLE}__batch on raw.{EVENT_FILES_TABLE} (_batch_id)"
    )
    return statements


def ensure_warehouse(conn: psycopg2.extensions.connection) -> None:
    """Create the schemas, raw tables and audit tables the pipeline needs (idempotent)."""
    with conn.cursor() as cur:
        # one bootstrap at a time: concurrent "create if not exists" can still collide
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.bootstrap'))")
        for schema in SCHEMAS:
            cur.execute(f"create schema if not exists {schema}")
        for statement in raw_table_ddl():
            cur.execute(statement)
        cur.execute(AUDIT_DDL)
        ensure_security(conn)
    ensure_api_keys(conn)
    from meridian.reports.schema import ensure_reporting_schema

    ensure_reporting_schema(conn)
