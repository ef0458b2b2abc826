"""audit.pipeline_runs: one row per Airflow task try, written by task callbacks.

Merge :func:`pipeline_run_callbacks` into a DAG's ``default_args``::

    default_args = {"owner": "meridian", "retries": 2, **pipeline_run_callbacks()}

Airflow 3's task runner calls them in the worker, in the task's own process,
with the task's context (``context["ti"]`` is the running task instance:
``dag_id``, ``run_id``, ``task_id``, ``map_index``, ``try_number``,
``start_date``, ``end_date``; ``context["exception"]`` is the error of a failed
try):

- ``on_execute_callback``: the row of this try is written with state
  ``running`` and ``started_at``, so a try whose worker dies stays visible;
- ``on_success_callback`` / ``on_failure_callback`` / ``on_retry_callback`` /
  ``on_skipped_callback``: the same row gets ``ended_at`` and the final state
  (``success``, ``failed``, ``up_for_retry``, ``skipped``), the error text of a
  failed try, and ``rows_in`` / ``rows_out`` from the dict the task returned
  (its XCom return value): the keys ``rows_in`` and ``rows_out``; for the
  extract tasks, which return batches, ``rows_out`` falls back to ``landed``
  (rows landed by a table extraction) and then ``lines`` (event-file lines).

Rows are upserted on (dag_id, run_id, task_id, map_index, try_number), so a
callback that runs twice writes the same row. A callback never fails the task:
any error (warehouse down, table missing) is logged and swallowed; Airflow
would log and swallow it too, but the task's log then shows why here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

ERROR_LIMIT = 4000
ROWS_OUT_KEYS = ("rows_out", "landed", "lines")
ROWS_IN_KEYS = ("rows_in",)

UPSERT_SQL = """
    insert into audit.pipeline_runs
        (dag_id, run_id, task_id, map_index, try_number, started_at, ended_at, state, rows_in, rows_out, error)
    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    on conflict (dag_id, run_id, task_id, map_index, try_number) do update set
        started_at = least(audit.pipeline_runs.started_at, excluded.started_at),
        ended_at = excluded.ended_at,
        state = excluded.state,
        rows_in = coalesce(excluded.rows_in, audit.pipeline_runs.rows_in),
        rows_out = coalesce(excluded.rows_out, audit.pipeline_runs.rows_out),
        error = excluded.error
"""


def _count(result: Any, keys: tuple[str, ...]) -> int | None:
    if not isinstance(result, Mapping):
        return None
    for key in keys:
        value = result.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return int(value)
    return None


def _error_text(error: Any) -> str | None:
    if error is None:
        return None
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    return text[:ERROR_LIMIT]


def _returned_value(ti: Any) -> Any:
    """The task's XCom return value (None when it returned nothing or the pull fails)."""
    try:
        map_index = getattr(ti, "map_index", -1)
        kwargs = {"map_indexes": map_index} if isinstance(map_index, int) and map_index >= 0 else {}
        return ti.xcom_pull(task_ids=ti.task_id, key="return_value", **kwargs)
    except Exception:  # noqa: BLE001 - the counts are optional
        log.debug("no return value for %s", getattr(ti, "task_id", "?"), exc_info=True)
        return None


def run_row(context: Mapping[str, Any], state: str, *, result: Any = None) -> tuple:
    """The audit.pipeline_runs row (in :data:`UPSERT_SQL` order) for the try in ``context``."""
    ti = context["ti"]
    now = datetime.now(UTC)
    started_at = getattr(ti, "start_date", None) or now
    ended_at = None if state == "running" else (getattr(ti, "end_date", None) or now)
    map_index = getattr(ti, "map_index", -1)
    try_number = getattr(ti, "try_number", None) or 1
    return (
        ti.dag_id,
        ti.run_id,
        ti.task_id,
        map_index if isinstance(map_index, int) else -1,
        int(try_number),
        started_at,
        ended_at,
        state,
        _count(result, ROWS_IN_KEYS),
        _count(result, ROWS_OUT_KEYS),
        _error_text(context.get("exception")) if state in ("failed", "up_for_retry") else None,
    )


def write_run_row(row: tuple) -> None:
    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID

    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        cur.execute(UPSERT_SQL, row)


def _record(context: Mapping[str, Any], state: str) -> None:
    try:
        result = _returned_value(context["ti"]) if state == "success" else None
        write_run_row(run_row(context, state, result=result))
    except Exception:  # noqa: BLE001 - bookkeeping must never fail the task
        ti = context.get("ti") if isinstance(context, Mapping) else None
        log.exception(
            "could not record the %s try of task %s in audit.pipeline_runs",
            state, getattr(ti, "task_id", "?"),
        )


def _callback(state: str) -> Callable[[Mapping[str, Any]], None]:
    def callback(context: Mapping[str, Any]) -> None:
        _record(context, state)

    callback.__name__ = callback.__qualname__ = f"record_pipeline_run_{state}"
    callback.__doc__ = f"Record the task try in audit.pipeline_runs with state {state!r}."
    return callback


record_task_start = _callback("running")
record_task_success = _callback("success")
record_task_failure = _callback("failed")
record_task_retry = _callback("up_for_retry")
record_task_skipped = _callback("skipped")


def pipeline_run_callbacks() -> dict[str, Callable[[Mapping[str, Any]], None]]:
    """Task callbacks for a DAG's ``default_args`` that keep audit.pipeline_runs (module doc)."""
    return {
        "on_execute_callback": record_task_start,
        "on_success_callback": record_task_success,
        "on_failure_callback": record_task_failure,
        "on_retry_callback": record_task_retry,
        "on_skipped_callback": record_task_skipped,
    }
