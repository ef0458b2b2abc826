"""audit.transform_runs rows left ``running`` by a killed dbt build.

``meridian.transform.dbt_run.build_warehouse`` inserts a ``running`` row
before ``dbt build`` and sets its final state after; a build task killed in
between (SIGKILL, out of memory) leaves the row ``running``. The row carries
the Airflow ``run_id`` of its task, so when :mod:`meridian.quality.pipeline_runs`
marks a ``transform_warehouse.build_models`` try ``killed`` it calls
:func:`mark_killed_builds`, which marks that try's build rows ``killed`` too:
the run's ``running`` rows, except those started from the start of a later
try of the same task that is still ``running`` (that one's build is alive).
Rows of earlier tries still ``running`` are dead as well: a try starts only
after the one before it ended.

The table's status check predates ``killed``: :func:`allow_killed_status`
widens it once, on the first killed build.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

STATUSES = ("running", "success", "failed", "killed")
STATUS_CHECK = "transform_runs_status_check"


def allow_killed_status(cur: Any) -> None:
    """Let ``status`` take ``killed`` (the check constraint of older tables lists the other three only)."""
    cur.execute(
        "select pg_get_constraintdef(oid) from pg_constraint "
        "where conrelid = 'audit.transform_runs'::regclass and conname = %s",
        (STATUS_CHECK,),
    )
    row = cur.fetchone()
    if row is not None and "'killed'" in row[0]:
        return
    allowed = ", ".join(f"'{status}'" for status in STATUSES)  # constants only
    cur.execute(
        f"alter table audit.transform_runs drop constraint if exists {STATUS_CHECK}, "
        f"add constraint {STATUS_CHECK} check (status in ({allowed}))"
    )


def mark_killed_builds(cur: Any, run_id: str, try_started_at: datetime) -> int:
    """Mark ``killed`` the builds of ``run_id`` left ``running`` by the try that started at ``try_started_at``.

    A build of a later try of the same task that is still ``running`` in
    audit.pipeline_runs is left alone (rows started from that try's start on).
    Returns how many rows were marked; 0 when the table does not exist yet.
    """
    cur.execute("select to_regclass('audit.transform_runs') is not null")
    if not cur.fetchone()[0]:
        return 0
    cur.execute(
        """
        select min(started_at) from audit.pipeline_runs
        where dag_id = 'transform_warehouse' and task_id = 'build_models' and run_id = %s
          and state = 'running' and started_at > %s
        """,
        (run_id, try_started_at),
    )
    live_try_started = cur.fetchone()[0]
    cur.execute(
        """
        select invocation_id from audit.transform_runs
        where run_id = %s and status = 'running'
          and (%s::timestamptz is null or started_at < %s::timestamptz)
        """,
        (run_id, live_try_started, live_try_started),
    )
    invocations = [row[0] for row in cur.fetchall()]
    if not invocations:
        return 0
    allow_killed_status(cur)
    cur.execute(
        "update audit.transform_runs set status = 'killed', ended_at = clock_timestamp() "
        "where invocation_id = any(%s) and status = 'running'",
        (invocations,),
    )
    log.warning("dbt builds %s of run %s were killed; marked killed in audit.transform_runs",
                ", ".join(invocations), run_id)
    return cur.rowcount
