"""What the extract_sources DAG's tasks call: one function per task."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg2

from meridian import db
from meridian.config import SOURCE_CONNECTIONS, WAREHOUSE_CONN_ID, settings
from meridian.extract.drift import SourceTableError
from meridian.extract.event_files import load_landing_dir
from meridian.extract.tables import extract_table
from meridian.sources.schema import TABLES, SourceTable
from meridian.sources.schema import table as source_table
from meridian.warehouse.bootstrap import ensure_warehouse_current

log = logging.getLogger(__name__)


def prepare_warehouse() -> bool:
    """The warehouse objects, when this code's bootstrap has not run or one of its tables is missing; True when
    it ran. Otherwise a few catalog lookups: the DDL (an exclusive lock per table it alters) runs once per code
    version, not before every extract."""
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        applied = ensure_warehouse_current(conn)
    if applied:
        log.info("warehouse bootstrap applied (new code version, a new warehouse or a table missing)")
    return applied


def extract_source_table(
    source: str, name: str, as_of: date | datetime, *, uris: Mapping[str, str] | None = None,
    connections: _Connections | None = None,
) -> dict:
    """Extract one docs/sources.md table up to the as-of instant ``as_of``; returns the batch as a dict (for XCom and logs).

    A table that cannot be extracted (missing, a required column gone, a value that does not convert to
    the contract type) fails alone, naming the table, column and connection id. ``uris``: the connection
    URIs by connection id, resolved beforehand (:func:`extract_source` runs this in worker threads).
    ``connections``: a worker's connections to reuse (source and warehouse, opened on first use); each table
    still runs in transactions of its own, and a connection left unusable by a failure is replaced.
    """
    if connections is None:
        with _Connections(source, uris) as own:
            return extract_source_table(source, name, as_of, connections=own)
    table = source_table(source, name)
    conn_id = SOURCE_CONNECTIONS[source]
    overlap = timedelta(minutes=settings().extract_overlap_minutes)
    source_conn, warehouse_conn = connections.get()
    try:
        result = extract_table(table, as_of, source_conn, warehouse_conn, overlap=overlap)
    except SourceTableError as exc:
        connections.reset()
        raise SourceTableError(
            f"{exc} (connection {conn_id!r}: AIRFLOW_CONN_{conn_id.upper()} or the embedded default)"
        ) from exc
    except psycopg2.errors.UndefinedTable as exc:
        connections.reset()
        raise SourceTableError(
            f"table public.{name} is missing in connection {conn_id!r}: every table of docs/sources.md must exist "
            f"(it may be empty). Create it or point AIRFLOW_CONN_{conn_id.upper()} at the right database."
        ) from exc
    except BaseException:
        connections.reset()
        raise
    log.info(result.describe())
    payload = asdict(result)
    payload["window_start"] = result.window_start.isoformat()
    payload["window_end"] = result.window_end.isoformat()
    return payload


class _Connections:
    """A source and a warehouse connection for the tables one worker loads one after another.

    Opening a connection costs a backend start and a password exchange: a worker opens its two once, not per
    table. After a failed table both are rolled back, or closed and opened again when they are broken.
    """

    def __init__(self, source: str, uris: Mapping[str, str] | None) -> None:
        self._conn_ids = (SOURCE_CONNECTIONS[source], WAREHOUSE_CONN_ID)
        self._uris = uris or {}
        self._conns: tuple[psycopg2.extensions.connection, psycopg2.extensions.connection] | None = None

    def get(self) -> tuple[psycopg2.extensions.connection, psycopg2.extensions.connection]:
        if self._conns is None:
            opened = []
            try:
                for conn_id in self._conn_ids:
                    opened.append(db.connect(conn_id, uri=self._uris.get(conn_id)))
            except BaseException:
                for conn in opened:
                    conn.close()
                raise
            self._conns = (opened[0], opened[1])
        return self._conns

    def reset(self) -> None:
        """After a failure: roll both back, or drop them (the next table opens new ones) when that fails."""
        if self._conns is None:
            return
        try:
            for conn in self._conns:
                conn.rollback()
        except psycopg2.Error:
            self.close()

    def close(self) -> None:
        conns, self._conns = self._conns, None
        for conn in conns or ():
            try:
                conn.close()
            except psycopg2.Error:
                pass

    def __enter__(self) -> _Connections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# tables of one source loaded at once: each load keeps about one core busy (the warehouse's COPY), two on 2 cores
EXTRACT_WORKERS = 2


class SourceExtractFailed(RuntimeError):
    """Some loads of a source failed; the others committed. The message names each failed table (or the event
    files) and its error."""

    def __init__(self, source: str, failures: Mapping[str, BaseException], loaded: Sequence[str],
                 files_error: BaseException | None = None) -> None:
        self.failures = dict(failures)
        self.files_error = files_error
        # every failure breaks the contract (SourceTableError): a retry would fail the same way. An event file
        # that cannot be read is rejected, not failed: a failed file load is the warehouse's, worth a retry
        self.permanent = files_error is None and all(
            isinstance(error, SourceTableError) for error in failures.values())
        parts = []
        if failures:
            lines = "\n".join(f"- {source}.{name}: {type(error).__name__}: {error}"
                               for name, error in failures.items())
            kept = (f"the other {len(loaded)} ({', '.join(loaded)}) loaded and moved their watermarks"
                    if loaded else "no table of it loaded")
            parts.append(
                f"{len(failures)} of {len(failures) + len(loaded)} tables of source {source!r} failed; {kept}, the "
                f"failed ones stay at their previous watermark:\n{lines}"
            )
        if files_error is not None:
            tables = "" if failures else f"; the {len(loaded)} tables of source {source!r} loaded"
            parts.append(f"the event files stopped loading{tables} (the files loaded before stay loaded, the "
                         f"others stay in the landing directory):\n- event files: {type(files_error).__name__}: "
                         f"{files_error}")
        super().__init__("\n".join(parts))


def load_order(source: str) -> list[SourceTable]:
    """The tables of ``source``, the event streams (keyed on ``received_at``: the largest) first.

    The largest loads start first, so that the small tables fill the other worker meanwhile.
    """
    tables = [table for table in TABLES if table.source == source]
    if not tables:
        raise ValueError(f"unknown source {source!r}: docs/sources.md has {sorted({t.source for t in TABLES})}")
    return sorted(tables, key=lambda table: table.extract_key != "received_at")


def extract_source(source: str, as_of: date | datetime, *, workers: int = EXTRACT_WORKERS,
                   event_files: bool = False, landing_dir: Path | None = None) -> dict:
    """Extract every table of ``source`` up to ``as_of``, ``workers`` tables at a time; returns the batches.

    Each table loads as :func:`extract_source_table` loads it alone: on its own connections, in its own
    warehouse transaction with its watermark. A table that fails does not stop the others: they commit,
    then :class:`SourceExtractFailed` names every failed table with its error.

    ``event_files`` (the app source, whose events the files also carry): the landing directory's files load
    at the same time, beside the tables (:func:`load_event_files`, on connections of their own), so that the
    warehouse parses the lines while the tables' COPY runs; the result has their summary under
    ``event_files``. A failed file load is named in :class:`SourceExtractFailed` like a failed table.
    """
    started = time.monotonic()
    tables = load_order(source)
    # resolved here, in the task's thread: worker threads do not ask Airflow for connections
    uris = {conn_id: db.dsn(conn_id) for conn_id in (SOURCE_CONNECTIONS[source], WAREHOUSE_CONN_ID)}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tables))) + int(event_files),
                            thread_name_prefix=f"extract-{source}") as pool:
        # the event files first: their many small loads keep going while the largest table streams
        files = (pool.submit(load_event_files, as_of, landing_dir, warehouse_uri=uris[WAREHOUSE_CONN_ID])
                 if event_files else None)
        # each worker thread keeps its connections for the tables it takes (closed below)
        local = threading.local()
        opened: list[_Connections] = []

        def load_table(name: str) -> dict:
            if not hasattr(local, "connections"):
                local.connections = _Connections(source, uris)
                opened.append(local.connections)
            return extract_source_table(source, name, as_of, connections=local.connections)

        futures = {table.name: pool.submit(load_table, table.name) for table in tables}
    for connections in opened:
        connections.close()
    batches: dict[str, dict] = {}
    failures: dict[str, BaseException] = {}
    for table in TABLES:  # the contract's order in the result and the log
        future = futures.get(table.name) if table.source == source else None
        if future is None:
            continue
        try:
            batches[table.name] = future.result()
        except Exception as exc:  # noqa: BLE001 - each failure is named in SourceExtractFailed below
            log.error("%s.%s failed: %s: %s", source, table.name, type(exc).__name__, exc)
            failures[table.name] = exc
    files_summary: dict | None = None
    files_error: BaseException | None = None
    if files is not None:
        try:
            files_summary = files.result()
        except Exception as exc:  # noqa: BLE001 - named in SourceExtractFailed below
            log.error("event files failed: %s: %s", type(exc).__name__, exc)
            files_error = exc
    seconds = time.monotonic() - started
    landed = sum(batch["landed"] for batch in batches.values())
    lines = files_summary["lines"] if files_summary else 0
    log.info("source %s: %s of %s tables loaded, %s rows%s in %.1f s (%s rows/s), %s at a time", source,
             len(batches), len(tables), f"{landed:,}", f" and {lines:,} event-file lines" if files else "",
             seconds, f"{(landed + lines) / seconds:,.0f}", min(workers, len(tables)))
    if failures or files_error is not None:
        raise SourceExtractFailed(source, failures, list(batches), files_error)
    result = {"source": source, "landed": landed + lines, "seconds": round(seconds, 3), "tables": batches}
    if files_summary is not None:
        result["event_files"] = files_summary
    return result


def load_event_files(as_of: date | datetime, landing_dir: Path | None = None, *,
                     warehouse_uri: str | None = None) -> dict:
    """Load the landing directory's pending event files, two at a time; returns the run's summary.

    ``warehouse_uri``: the warehouse connection's URI, resolved beforehand (:func:`extract_source` runs this in
    a worker thread).
    """
    landing = landing_dir or settings().landing_dir
    # two files at a time: the warehouse parses the lines, so each load keeps one core busy
    with (
        db.connection(WAREHOUSE_CONN_ID, uri=warehouse_uri) as warehouse_conn,
        db.connection(WAREHOUSE_CONN_ID, uri=warehouse_uri) as second_conn,
    ):
        results = load_landing_dir(landing, as_of, warehouse_conn, [second_conn])
    loaded = [result for result in results if result.batch_id is not None and not result.rejected]
    rejected = [result for result in results if result.batch_id is not None and result.rejected]
    summary = {
        "landing_dir": str(landing),
        "files_loaded": len(loaded),
        "files_skipped_as_seen_before": sum(result.batch_id is None for result in results),
        "lines": sum(result.landed for result in loaded),
        "lines_not_json_objects": sum(result.malformed for result in loaded),
        "files_rejected": {result.file_name: result.error for result in rejected},
    }
    log.info("event files: %s", summary)
    if rejected:
        log.error(
            "%s unreadable event file(s) moved to %s and quarantined as unreadable_file: %s",
            len(rejected), landing / "rejected", "; ".join(f"{r.file_name} ({r.error})" for r in rejected),
        )
    return summary


class ExtractFailed(RuntimeError):
    """One or more loads of an extract_sources run failed; the message names them and their errors."""


def failed_loads_error(run_id: str, dag_id: str = "extract_sources") -> ExtractFailed:
    """The error that marks a partly failed extraction run, naming the failed loads from audit.pipeline_runs."""
    failed: list[tuple[str, str | None]] = []
    try:
        with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
            cur.execute(
                """
                select task_id, error
                from (
                    select distinct on (task_id) task_id, state, error
                    from audit.pipeline_runs
                    where dag_id = %s and run_id = %s and task_id <> 'check_extracts'
                    order by task_id, try_number desc
                ) as last_tries
                where state = 'failed'
                order by task_id
                """,
                (dag_id, run_id),
            )
            failed = cur.fetchall()
    except Exception as exc:  # noqa: BLE001 - the run fails either way; say why the list is missing
        log.warning("cannot list the failed loads from audit.pipeline_runs: %s", exc)
    if not failed:
        return ExtractFailed(
            f"a load of {dag_id} run {run_id} failed (see the failed tasks of this run); publish_raw emits the raw "
            f"asset when at least one load succeeded"
        )
    lines = "\n".join(f"- {task_id}: {(error or 'no error recorded').strip()}" for task_id, error in failed)
    return ExtractFailed(
        f"{len(failed)} load(s) of {dag_id} run {run_id} failed; publish_raw emits the raw asset when at least "
        f"one load succeeded, and these stay at their previous watermark until a run loads them:\n{lines}"
    )
