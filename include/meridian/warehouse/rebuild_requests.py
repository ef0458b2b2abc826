"""Full refreshes asked for outside a transform run: ``audit.full_refresh_requests``.

Some changes to the warehouse are made beside the pipeline, not by it:
``meridian user forget`` rewrites landed raw rows, ``meridian tenant purge``
deletes them. The incremental staging tables classify each landed batch once
and never re-read a changed raw row, so such a change reaches every derived
table only through a full refresh. The command records a request; the
transform plan asks :func:`pending_full_refresh` and, when a reason comes
back, builds a full refresh; after that build succeeds it calls
:func:`clear_full_refresh_requests` with the highest request id it saw
*before* building (:func:`pending_full_refresh_requests`), so a request made
while the build ran stays pending for the next run.

The table is created by the warehouse bootstrap
(:mod:`meridian.warehouse.bootstrap`); until then nothing is pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

TABLE = "audit.full_refresh_requests"



@dataclass(frozen=True)
class FullRefreshRequest:
    request_id: int
    reason: str
    requested_at: datetime


def _exists(conn: psycopg2.extensions.connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (TABLE,))
        return bool(cur.fetchone()[0])


def request_full_refresh(conn: psycopg2.extensions.connection, reason: str) -> None:
    """Ask the next transform run for a full refresh, saying why (the caller commits)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a full-refresh request needs a reason (it is shown in the run's plan)")
    with conn.cursor() as cur:
        cur.execute(f"insert into {TABLE} (reason) values (%s)", (reason,))


def pending_full_refresh_requests(conn: psycopg2.extensions.connection) -> list[FullRefreshRequest]:
    """The requests not cleared yet, oldest first."""
    if not _exists(conn):
        return []
    with conn.cursor() as cur:
        cur.execute(
            f"select request_id, reason, requested_at from {TABLE} where cleared_at is null order by request_id"
        )
        return [FullRefreshRequest(*row) for row in cur.fetchall()]


def pending_full_refresh(conn: psycopg2.extensions.connection) -> str | None:
    """Why the next run must be a full refresh (every pending reason, oldest first), or None."""
    requests = pending_full_refresh_requests(conn)
    if not requests:
        return None
    return "; ".join(f"{request.reason} (request {request.request_id})" for request in requests)


def clear_full_refresh_requests(conn: psycopg2.extensions.connection, up_to_id: int) -> int:
    """Mark the pending requests with ids up to ``up_to_id`` served; returns how many (the caller commits)."""
    if not _exists(conn):
        return 0
    with conn.cursor() as cur:
        cur.execute(
            f"update {TABLE} set cleared_at = clock_timestamp() where cleared_at is null and request_id <= %s",
            (up_to_id,),
        )
        return cur.rowcount
