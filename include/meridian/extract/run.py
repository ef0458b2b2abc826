"""What the extract_sources DAG's tasks call: one function per task."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg2

from meridian import db
from meridian.config import SOURCE_CONNECTIONS, WAREHOUSE_CONN_ID, settings
from meridian.extract.drift import SourceTableError
from meridian.extract.event_files import load_landing_dir
from meridian.extract.tables import extract_table
from meridian.sources.schema import table as source_table
from meridian.warehouse.bootstrap import ensure_warehouse

log = logging.getLogger(__name__)


def prepare_warehouse() -> None:
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        ensure_warehouse(conn)


def extract_source_table(source: str, name: str, as_of: date | datetime) -> dict:
    """Extract one SOURCES.md table up to the as-of instant ``as_of``; returns the batch as a dict (for XCom and logs).

    A table that cannot be extracted (missing, a required column gone, a value that does not convert to
    the contract type) fails this task alone, naming the table, column and connection id.
    """
    table = source_table(source, name)
    conn_id = SOURCE_CONNECTIONS[source]
    overlap = timedelta(minutes=settings().extract_overlap_minutes)
    with db.connection(conn_id) as source_conn, db.connection(WAREHOUSE_CONN_ID) as warehouse_conn:
        try:
            result = extract_table(table, as_of, source_conn, warehouse_conn, overlap=overlap)
        except SourceTableError as exc:
            raise SourceTableError(
                f"{exc} (connection {conn_id!r}: AIRFLOW_CONN_{conn_id.upper()} or the embedded default)"
            ) from exc
        except psycopg2.errors.UndefinedTable as exc:
            raise SourceTableError(
                f"table public.{name} is missing in connection {conn_id!r}: every table of SOURCES.md must exist "
                f"(it may be empty). Create it or point AIRFLOW_CONN_{conn_id.upper()} at the right database."
            ) from exc
    log.info(result.describe())
    payload = asdict(result)
    payload["window_start"] = result.window_start.isoformat()
    payload["window_end"] = result.window_end.isoformat()
    return payload


def load_event_files(as_of: date | datetime, landing_dir: Path | None = None) -> dict:
    landing = landing_dir or settings().landing_dir
    # two files at a time: the warehouse parses the lines, so each load keeps one core busy
    with db.connection(WAREHOUSE_CONN_ID) as warehouse_conn, db.connection(WAREHOUSE_CONN_ID) as second_conn:
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
