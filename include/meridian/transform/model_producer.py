"""The producer's state of a run in the warehouse, for its model tasks: ``audit.dbt_model_producers``.

``build_models`` (the producer of transform_warehouse's model tasks) writes one
row per run: ``running`` when a try starts, with a **deadline** (the try's
start + its ``execution_timeout`` + the time Airflow takes to notice a dead try
and start the next one); then ``reported`` in the same transaction as the
model reports (meridian.transform.model_reports), or ``failed`` with the error
when the build stopped before any report (dbt could not start, no manifest),
``retrying`` when that try will be retried (the next try writes ``running``
again), or ``skipped``.

The model tasks' triggers read this row and the reports with their one shared
warehouse connection; they make no request to Airflow's supervisor (Airflow
3.3's triggerer can deadlock when a trigger's request meets many log lines).
A try that dies without writing (a killed worker) leaves ``running``: once its
deadline passes, the waiting model tasks fail, naming the try and the deadline.

Before the producer starts there is no row: a task upstream of it that failed
for good (its ``audit.pipeline_runs`` row, written by the task callbacks of
meridian.quality.pipeline_runs) fails the model tasks at once; otherwise they
wait at most their own limit (:data:`meridian.transform.model_tasks.WAIT_TIMEOUT`
or the task's ``execution_timeout``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg2.extensions

RUNNING = "running"
REPORTED = "reported"
FAILED = "failed"
RETRYING = "retrying"
SKIPPED = "skipped"
# the producer's states after which no report of this try will come
ENDED = (REPORTED, FAILED, SKIPPED)

# build_models' execution_timeout (transform_warehouse); also the deadline's base when a task has none
PRODUCER_TIMEOUT = timedelta(hours=3)
# how long Airflow takes at most to see a try whose process died (scheduler task_instance_heartbeat_timeout,
# default 300 s), plus the start of a new try
START_SLACK = timedelta(minutes=2)
MESSAGE_LIMIT = 4000

PRODUCERS_DDL = """
create table if not exists audit.dbt_model_producers (
    run_id text primary key,
    try_number integer not null,
    state text not null,
    message text,
    started_at timestamptz not null,
    deadline_at timestamptz not null,
    updated_at timestamptz not null default clock_timestamp()
);
"""


@dataclass(frozen=True)
class ProducerTry:
    """One try of the producer and how long the model tasks wait for it at most."""

    try_number: int
    timeout: timedelta  # the try's execution_timeout
    grace: timedelta  # Airflow's time to notice a dead try and start another
    retry_wait: timedelta | None = None  # the delay before the next try; None: the last try

    @property
    def allowance(self) -> timedelta:
        """From the try's start to its deadline: its timeout, then a retry's start when one follows."""
        return self.timeout + self.grace + (self.retry_wait + self.grace if self.retry_wait is not None else timedelta(0))


@dataclass(frozen=True)
class ProducerState:
    try_number: int
    state: str
    message: str | None
    started_at: datetime
    deadline_at: datetime
    overdue: bool  # the deadline passed (the warehouse's clock) with no end written

    def describe(self) -> str:
        return f"try {self.try_number} started at {self.started_at:%Y-%m-%d %H:%M:%S %Z}"


def _heartbeat_timeout() -> timedelta:
    from airflow.configuration import conf

    return timedelta(seconds=conf.getfloat("scheduler", "task_instance_heartbeat_timeout", fallback=300.0))


def retry_delay(task: Any) -> timedelta:
    """The longest delay before the task's next try (its retry_delay, or max_retry_delay with backoff)."""
    delay = getattr(task, "retry_delay", None) or timedelta(0)
    if getattr(task, "retry_exponential_backoff", False):
        delay = getattr(task, "max_retry_delay", None) or max(delay, timedelta(hours=24))
    return delay if isinstance(delay, timedelta) else timedelta(seconds=float(delay))


def producer_try(task: Any, try_number: int) -> ProducerTry:
    """The try's timeout (``execution_timeout``, else :data:`PRODUCER_TIMEOUT`), grace and retry delay."""
    timeout = getattr(task, "execution_timeout", None) or PRODUCER_TIMEOUT
    retries = getattr(task, "retries", 0) or 0
    return ProducerTry(try_number, timeout, _heartbeat_timeout() + START_SLACK,
                       retry_delay(task) if try_number <= retries else None)


def record_start(conn: psycopg2.extensions.connection, run_id: str, started: ProducerTry) -> None:
    """``running`` for this try, with its deadline (a newer row of the run, a later try's, stays). Does not commit."""
    with conn.cursor() as cur:
        cur.execute(PRODUCERS_DDL)
        cur.execute(
            """
            insert into audit.dbt_model_producers (run_id, try_number, state, message, started_at, deadline_at)
            select %s, %s, 'running', null, now_.at, now_.at + %s
            from (select clock_timestamp() as at) as now_  -- one reading: the deadline is exactly start + allowance
            on conflict (run_id) do update set
                try_number = excluded.try_number, state = excluded.state, message = null,
                started_at = excluded.started_at, deadline_at = excluded.deadline_at, updated_at = clock_timestamp()
            where excluded.try_number >= audit.dbt_model_producers.try_number
            """,
            (run_id, started.try_number, started.allowance),
        )


def record_end(conn: psycopg2.extensions.connection, run_id: str, try_number: int, state: str,
               message: str | None = None, *, wait: timedelta | None = None) -> None:
    """The try's end state (``wait``: the deadline moves to now + wait, for a retry to start). Does not commit."""
    with conn.cursor() as cur:
        cur.execute(PRODUCERS_DDL)
        cur.execute(
            """
            insert into audit.dbt_model_producers (run_id, try_number, state, message, started_at, deadline_at)
            select %s, %s, %s, %s, now_.at, now_.at + coalesce(%s, interval '0')
            from (select clock_timestamp() as at) as now_
            on conflict (run_id) do update set
                state = excluded.state, message = excluded.message, updated_at = clock_timestamp(),
                deadline_at = case when %s::interval is null then audit.dbt_model_producers.deadline_at
                                   else excluded.deadline_at end
            where excluded.try_number >= audit.dbt_model_producers.try_number
            """,
            (run_id, try_number, state, message[-MESSAGE_LIMIT:] if message else None, wait, wait),
        )


def read_state(conn: psycopg2.extensions.connection, run_id: str) -> ProducerState | None:
    """The run's producer row, or None (no try started yet, or the table does not exist yet)."""
    with conn.cursor() as cur:
        if not _exists(cur, "audit.dbt_model_producers"):
            return None
        cur.execute(
            """
            select try_number, state, message, started_at, deadline_at, clock_timestamp() > deadline_at
            from audit.dbt_model_producers where run_id = %s
            """,
            (run_id,),
        )
        row = cur.fetchone()
    return ProducerState(*row) if row else None


def upstream_failure(conn: psycopg2.extensions.connection, dag_id: str, run_id: str,
                     task_ids: list[str]) -> str | None:
    """``<task> failed: <error>`` when the last try of a task upstream of the producer failed for good, else None."""
    if not task_ids:
        return None
    with conn.cursor() as cur:
        if not _exists(cur, "audit.pipeline_runs"):
            return None
        cur.execute(
            """
            select distinct on (task_id) task_id, state, error from audit.pipeline_runs
            where dag_id = %s and run_id = %s and task_id = any(%s)
            order by task_id, try_number desc
            """,
            (dag_id, run_id, task_ids),
        )
        failed = [f"{task} failed: {error or 'see its log'}" for task, state, error in cur.fetchall()
                  if state == "failed"]
    return "; ".join(failed) or None


def _exists(cur: psycopg2.extensions.cursor, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (table,))
    return bool(cur.fetchone()[0])
