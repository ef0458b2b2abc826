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

Killed tries
    A try whose process is killed (SIGKILL, out of memory, a lost machine)
    runs no callback, so its row would stay ``running`` forever. The running
    row therefore records the try's process: ``hostname``, ``pid`` and
    ``process_started_at`` (the process's own start time, so a pid reused by
    another process is not mistaken for the try). ``on_execute_callback``
    then marks such rows ``killed``, with ``ended_at`` (the moment the kill
    became known: an upper bound of the real end) and an error saying so,
    before it records its own try:

    - every earlier try of the same task instance still ``running``: Airflow
      starts a new try only once the previous one is over, so it died
      without reporting, wherever it ran;
    - every ``running`` row of this host, of any DAG and run, whose process
      is gone (no process with that pid, or one started at another time):
      a cheap sweep on an index of the running rows.

    Rows of other hosts are marked by a later try of their own task, or by
    any task that runs on their host. A killed ``transform_warehouse.build_models``
    try also marks the ``audit.transform_runs`` rows its dbt build left
    ``running`` (:mod:`meridian.quality.transform_runs`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

RUNNING = "running"
KILLED = "killed"
# two start times of one process read at different moments differ by clock-tick rounding only
PROCESS_START_TOLERANCE_SECONDS = 1.0

ERROR_LIMIT = 4000
ROWS_OUT_KEYS = ("rows_out", "landed", "lines")
ROWS_IN_KEYS = ("rows_in",)

# the process columns: a running row takes the process that starts the try; a final state keeps the
# try's process (a callback run elsewhere does not overwrite it)
UPSERT_SQL = """
    insert into audit.pipeline_runs
        (dag_id, run_id, task_id, map_index, try_number, started_at, ended_at, state, rows_in, rows_out, error,
         hostname, pid, process_started_at)
    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    on conflict (dag_id, run_id, task_id, map_index, try_number) do update set
        started_at = least(audit.pipeline_runs.started_at, excluded.started_at),
        ended_at = excluded.ended_at,
        state = excluded.state,
        rows_in = coalesce(excluded.rows_in, audit.pipeline_runs.rows_in),
        rows_out = coalesce(excluded.rows_out, audit.pipeline_runs.rows_out),
        error = excluded.error,
        hostname = case when excluded.state = 'running' then excluded.hostname
                        else coalesce(audit.pipeline_runs.hostname, excluded.hostname) end,
        pid = case when excluded.state = 'running' then excluded.pid
                   else coalesce(audit.pipeline_runs.pid, excluded.pid) end,
        process_started_at = case when excluded.state = 'running' then excluded.process_started_at
                                  else coalesce(audit.pipeline_runs.process_started_at,
                                                excluded.process_started_at) end
"""

# tables created before the process was recorded (bootstrap adds the same columns)
PROCESS_COLUMNS_DDL = """
    alter table audit.pipeline_runs add column if not exists hostname text;
    alter table audit.pipeline_runs add column if not exists pid integer;
    alter table audit.pipeline_runs add column if not exists process_started_at timestamptz;
"""

EARLIER_TRIES_SQL = """
    select dag_id, run_id, task_id, map_index, try_number, started_at, hostname, pid
    from audit.pipeline_runs
    where dag_id = %s and run_id = %s and task_id = %s and map_index = %s and try_number < %s
      and state = 'running'
    for update skip locked
"""

RUNNING_HERE_SQL = """
    select dag_id, run_id, task_id, map_index, try_number, started_at, hostname, pid, process_started_at
    from audit.pipeline_runs
    where state = 'running' and hostname = %s
      and (dag_id, run_id, task_id, map_index, try_number) <> (%s, %s, %s, %s, %s)
    for update skip locked
"""

MARK_KILLED_SQL = """
    update audit.pipeline_runs
    set state = 'killed', ended_at = clock_timestamp(), error = %s
    where dag_id = %s and run_id = %s and task_id = %s and map_index = %s and try_number = %s
      and state = 'running'
"""


@dataclass(frozen=True)
class Process:
    """The process running a task try: where, which pid, and when that process started."""

    hostname: str
    pid: int
    started_at: datetime | None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.hostname}"


def process_start_time(pid: int) -> datetime | None:
    """When process ``pid`` of this host started (None: no such process, or unknown)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with Airflow
        return None
    try:
        return datetime.fromtimestamp(psutil.Process(pid).create_time(), UTC)
    except (psutil.Error, OSError):
        return None


def this_process() -> Process:
    pid = os.getpid()
    return Process(socket.gethostname(), pid, process_start_time(pid))


def process_is_gone(pid: int | None, started_at: datetime | None) -> bool:
    """Whether the process ``pid`` that started at ``started_at`` no longer runs on this host.

    A row without a pid (written before the process was recorded) is never
    called gone: nothing tells it from a live one.
    """
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a process of another user has this pid: compare start times
    if started_at is None:
        return False
    current = process_start_time(pid)
    if current is None:
        return False
    return abs((current - started_at).total_seconds()) > PROCESS_START_TOLERANCE_SECONDS


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


def run_row(
    context: Mapping[str, Any], state: str, *, result: Any = None, process: Process | None = None
) -> tuple:
    """The audit.pipeline_runs row (in :data:`UPSERT_SQL` order) for the try in ``context``."""
    process = process or this_process()
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
        process.hostname,
        process.pid,
        process.started_at,
    )


def _killed_error(pid: int | None, hostname: str | None, found_by: str) -> str:
    where = f"pid {pid} on {hostname}" if pid is not None else "a process not recorded"
    return (
        f"killed: the try's process ({where}) ended without reporting a result (SIGKILL, out of memory or a "
        f"lost machine); {found_by} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )[:ERROR_LIMIT]


def _mark_killed(cur: Any, key: tuple, error: str) -> bool:
    cur.execute(MARK_KILLED_SQL, (error, *key))
    return cur.rowcount == 1


def mark_killed_tries(cur: Any, row: tuple, process: Process) -> list[tuple]:
    """Mark ``killed`` the rows left ``running`` by dead tries (module doc); returns their keys.

    ``row`` is the starting try's row (:func:`run_row` order). Rows locked by
    another session are left to the next sweep.
    """
    from meridian.quality.transform_runs import mark_killed_builds

    dag_id, run_id, task_id, map_index, try_number = row[:5]
    killed: list[tuple] = []
    cur.execute(EARLIER_TRIES_SQL, (dag_id, run_id, task_id, map_index, try_number))
    for earlier in cur.fetchall():
        key, hostname, pid = earlier[:5], earlier[6], earlier[7]
        found_by = f"found when try {try_number} of the same task started"
        if _mark_killed(cur, key, _killed_error(pid, hostname, found_by)):
            killed.append((*key, earlier[5]))
    cur.execute(RUNNING_HERE_SQL, (process.hostname, dag_id, run_id, task_id, map_index, try_number))
    for other in cur.fetchall():
        key, started_at, hostname, pid, pid_started = other[:5], other[5], other[6], other[7], other[8]
        if not process_is_gone(pid, pid_started):
            continue
        found_by = f"found by the sweep at the start of {dag_id}.{task_id} (run {run_id}, try {try_number})"
        if _mark_killed(cur, key, _killed_error(pid, hostname, found_by)):
            killed.append((*key, started_at))
    for killed_dag, killed_run, killed_task, _, killed_try, started_at in killed:
        log.warning("task %s.%s (run %s) try %s was killed without reporting; marked killed in audit.pipeline_runs",
                    killed_dag, killed_task, killed_run, killed_try)
        if (killed_dag, killed_task) == BUILD_TASK:
            mark_killed_builds(cur, killed_run, started_at)
    return [key[:5] for key in killed]


# the task whose try runs the dbt build recorded in audit.transform_runs
BUILD_TASK = ("transform_warehouse", "build_models")


def write_run_row(row: tuple) -> list[tuple]:
    """Upsert the row; a ``running`` row first marks the dead tries :func:`mark_killed_tries` finds.

    Returns the keys of the tries marked ``killed``.
    """
    import psycopg2.errors

    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID

    process = Process(row[11], row[12], row[13])
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        for attempt in (1, 2):
            try:
                with conn.cursor() as cur:
                    killed = _sweep(cur, row, process) if row[7] == RUNNING else []
                    cur.execute(UPSERT_SQL, row)
                conn.commit()
                return killed
            except psycopg2.errors.UndefinedColumn:
                conn.rollback()
                if attempt == 2:
                    raise
                with conn.cursor() as cur:  # a table from before the process columns: add them once
                    cur.execute(PROCESS_COLUMNS_DDL)
                conn.commit()
    return []


def _sweep(cur: Any, row: tuple, process: Process) -> list[tuple]:
    """:func:`mark_killed_tries` in a savepoint: if it fails, the try's own row is still written."""
    import psycopg2

    cur.execute("savepoint sweep_killed_tries")
    try:
        killed = mark_killed_tries(cur, row, process)
    except psycopg2.errors.UndefinedColumn:
        raise  # a table from before the process columns: the caller adds them and retries
    except psycopg2.Error:
        cur.execute("rollback to savepoint sweep_killed_tries")
        log.exception("could not mark the killed tries in audit.pipeline_runs; the next task start tries again")
        return []
    cur.execute("release savepoint sweep_killed_tries")
    return killed


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


def pipeline_task_defaults(retry_delay: timedelta) -> dict[str, Any]:
    """A pipeline DAG's ``default_args``: two retries waiting from ``retry_delay``, doubling up to ten minutes,
    and the callbacks that keep one audit.pipeline_runs row per task try."""
    return {
        "owner": "meridian",
        "retries": 2,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        **pipeline_run_callbacks(),
    }
