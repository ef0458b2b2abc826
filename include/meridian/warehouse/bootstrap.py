"""Warehouse objects the pipeline owns outside dbt: schemas, raw tables, history, audit tables,
schema security.

Everything is ``create ... if not exists``: running it again is harmless, and the
pipeline runs it (:func:`ensure_warehouse_current`) before every extract and
transform, so a fresh warehouse needs no set-up; a warehouse that this code
already bootstrapped, with its tables all there, costs a few catalog lookups.

The raw event tables (``raw.app__events``, ``raw.app__event_files``) are
partitioned by month of occurred_at (meridian.warehouse.partitions); a warehouse
whose tables predate that is migrated here, once. ``history.app__events`` keeps
the accepted events of the months the raw retention purged
(meridian.warehouse.retention); dbt reads it beside raw and never replaces it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from pathlib import Path

import psycopg2.extensions

from meridian.sources.schema import TABLES
from meridian.sources.schema import table as source_table
from meridian.warehouse import partitions
from meridian.warehouse.api_tables import ensure_api_keys
from meridian.warehouse.audit_tables import AUDIT_DDL
from meridian.warehouse.event_time import OCCURRED_AT_SQL
from meridian.warehouse.reporting import ensure_reporting_schema
from meridian.warehouse.security import ensure_security

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "reporting", "history", "security")

EVENT_FILES_TABLE = "app__event_files"

# The loader sets these two settings in its transaction, so COPY fills the batch
# columns without rewriting every row; an insert without them fails on not null.
BATCH_COLUMNS = (
    "_batch_id bigint not null default nullif(current_setting('meridian.batch_id', true), '')::bigint,\n"
    "    _loaded_at timestamptz not null default nullif(current_setting('meridian.loaded_at', true), '')::timestamptz"
)


def _columns_ddl(columns: tuple[tuple[str, str], ...]) -> str:
    return ",\n    ".join([*(f"{name} {ctype}" for name, ctype in columns), BATCH_COLUMNS])


EVENTS_TABLE = source_table("app", "events").raw_table
# the event-file lines: file, line number, the line text (when not a JSON object), the parsed record,
# and the record's occurred_at (meridian.warehouse.event_time), the partition key
EVENT_FILES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_file_name", "text not null"),
    ("_line_number", "integer not null"),
    ("_line", "text"),
    ("record", "jsonb"),
    ("occurred_at", "timestamptz"),
)
# a plain event-file table from before partitioning has no occurred_at: the migration takes it from the record
_EVENT_FILES_LEGACY_SELECT = (
    f"_file_name, _line_number, _line, record, ({OCCURRED_AT_SQL}) as occurred_at, _batch_id, _loaded_at"
)

# the accepted, current version of every app event whose raw rows the retention purged: the docs/sources.md
# columns, where it came from (origin db or file, the file and line), and its batch; one row per event id
HISTORY_EVENTS_DDL = """
create table if not exists history.app__events (
    {columns},
    origin text not null check (origin in ('db', 'file')),
    _file_name text,
    _line_number integer,
    _batch_id bigint not null,
    _loaded_at timestamptz not null,
    _archived_at timestamptz not null default clock_timestamp(),
    primary key (id)
);
create index if not exists app__events__batch on history.app__events (_batch_id);
create index if not exists app__events__tenant on history.app__events (tenant_id);
"""


def raw_table_ddl() -> list[str]:
    """The plain (unpartitioned) raw tables: every docs/sources.md table except app.events."""
    statements = []
    for table in TABLES:
        if table.raw_table == EVENTS_TABLE:
            continue
        statements.append(
            f"create table if not exists raw.{table.raw_table} (\n    {_columns_ddl(table.columns)}\n)"
        )
        statements.append(
            f"create index if not exists {table.raw_table}__batch on raw.{table.raw_table} (_batch_id)"
        )
    return statements


def ensure_partitioned_raw_tables(cur: psycopg2.extensions.cursor) -> None:
    """raw.app__events and raw.app__event_files partitioned by month (a plain one is migrated once)."""
    events_columns = source_table("app", "events").columns
    specs = (
        (EVENTS_TABLE, _columns_ddl(events_columns),
         ", ".join([*(name for name, _ in events_columns), "_batch_id", "_loaded_at"])),
        (EVENT_FILES_TABLE, _columns_ddl(EVENT_FILES_COLUMNS), _EVENT_FILES_LEGACY_SELECT),
    )
    for table, columns_ddl, legacy_select in specs:
        if partitions.is_partitioned(cur, table) is False:
            moved = partitions.migrate_to_partitioned(cur, table, columns_ddl, legacy_select)
            log.warning("raw.%s is now partitioned by month of occurred_at (%s rows moved)", table, moved)
        partitions.create_partitioned_table(cur, table, columns_ddl)
        cur.execute(f"create index if not exists {table}__batch on raw.{table} (_batch_id)")
        # month partitions come from the warehouse_maintenance DAG (the months ahead of its as-of, and
        # every month found in the default partition); until then the default partition takes the rows


def history_ddl() -> str:
    columns = source_table("app", "events").columns
    required = set(source_table("app", "events").required)
    ddl = ",\n    ".join(f"{name} {ctype}{' not null' if name in required else ''}" for name, ctype in columns)
    return HISTORY_EVENTS_DDL.format(columns=ddl)


def ensure_warehouse(conn: psycopg2.extensions.connection) -> None:
    """Create the schemas, raw tables and audit tables the pipeline needs (idempotent)."""
    with conn.cursor() as cur:
        # one bootstrap at a time: concurrent "create if not exists" can still collide
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.bootstrap'))")
        for schema in SCHEMAS:
            cur.execute(f"create schema if not exists {schema}")
        for statement in raw_table_ddl():
            cur.execute(statement)
        ensure_partitioned_raw_tables(cur)
        # an unreadable file lands as one row (line 0) with the read error (meridian.extract.event_files);
        # added after the batch columns, so the migration's column order above stays the legacy table's
        cur.execute(f"alter table raw.{EVENT_FILES_TABLE} add column if not exists _error text")
        cur.execute(history_ddl())
        cur.execute(AUDIT_DDL)
        ensure_security(conn)
    ensure_api_keys(conn)
    ensure_reporting_schema(conn)
    _record_fingerprint(conn)


# the modules whose code is the bootstrap: a change to any of them is a new bootstrap
BOOTSTRAP_MODULES = (
    "meridian.warehouse.bootstrap", "meridian.warehouse.security", "meridian.warehouse.partitions",
    "meridian.warehouse.event_time", "meridian.sources.schema", "meridian.warehouse.reporting",
    "meridian.warehouse.api_tables", "meridian.warehouse.audit_tables",
)
FINGERPRINT_DDL = """
create table if not exists audit.warehouse_bootstrap (
    fingerprint text not null,
    applied_at timestamptz not null default clock_timestamp()
)
"""


def bootstrap_fingerprint() -> str:
    """A digest of the bootstrap's code: the warehouse objects it creates are those of this code."""
    digest = hashlib.sha256()
    for name in BOOTSTRAP_MODULES:
        digest.update(Path(importlib.import_module(name).__file__).read_bytes())
    return digest.hexdigest()


def _record_fingerprint(conn: psycopg2.extensions.connection) -> None:
    current = bootstrap_fingerprint()
    with conn.cursor() as cur:
        cur.execute(FINGERPRINT_DDL)
        # the row changes only with the code: a rerun of the same bootstrap (a purge, a test) leaves the data as it was
        cur.execute("delete from audit.warehouse_bootstrap where fingerprint <> %s", (current,))
        cur.execute("insert into audit.warehouse_bootstrap (fingerprint) select %s "
                    "where not exists (select from audit.warehouse_bootstrap)", (current,))
    if not conn.autocommit:
        conn.commit()


# audit tables, the API's and the reports' tables: with the raw and history tables, what the pipeline writes to
# without creating it; one dropped beside the bootstrap (a schema dropped by hand or by a test) runs it again
OWNED_TABLES = (
    "audit.batches", "audit.raw_purges", "audit.watermarks", "audit.loaded_files", "audit.pipeline_runs",
    "audit.dbt_node_results", "audit.data_quality_alerts", "audit.deletion_requests", "audit.full_refresh_requests",
    "security.tenant_roles", "security.api_keys", "security.api_report_jobs", "security.api_signing_key",
    "reporting.scheduled_reports", "reporting.report_deliveries", "history.app__events",
)


def owned_tables() -> tuple[str, ...]:
    """Every table the bootstrap creates (raw tables included)."""
    raw = [f"raw.{table.raw_table}" for table in TABLES]
    return (*raw, f"raw.{EVENT_FILES_TABLE}", *OWNED_TABLES)


def missing_tables(conn: psycopg2.extensions.connection) -> list[str]:
    """The tables of :func:`owned_tables` the warehouse does not have (one catalog lookup each, no locks)."""
    with conn.cursor() as cur:
        cur.execute("select name from unnest(%s::text[]) as name where to_regclass(name) is null",
                    (list(owned_tables()),))
        return [row[0] for row in cur.fetchall()]


def bootstrap_is_current(conn: psycopg2.extensions.connection) -> bool:
    """Whether this code's bootstrap already ran on the warehouse and its tables are all there.

    One catalog lookup per table and one row: no locks, a few milliseconds.
    """
    with conn.cursor() as cur:
        cur.execute("select to_regclass('audit.warehouse_bootstrap') is not null")
        if not cur.fetchone()[0]:
            return False
        if missing_tables(conn):
            return False
        cur.execute("select fingerprint from audit.warehouse_bootstrap")
        return [row[0] for row in cur.fetchall()] == [bootstrap_fingerprint()]


def ensure_warehouse_current(conn: psycopg2.extensions.connection) -> bool:
    """Run :func:`ensure_warehouse` unless this code's bootstrap already ran; True when it ran.

    ``ensure_warehouse`` takes an exclusive lock per table it alters (``alter table
    ... add column if not exists`` locks even when the column exists), so on a
    warehouse in use it waits behind every long reader of the raw tables. A
    caller that runs every few minutes (the transform plan) checks first.
    """
    if bootstrap_is_current(conn):
        return False
    ensure_warehouse(conn)
    return True
