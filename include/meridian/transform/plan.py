"""How a transform_warehouse run builds: incremental or full refresh, and its lookback.

A run builds up to its as-of instant T (any second; its as-of date is the UTC
date of the last instant it covers, see meridian.runtime). The rules, in order:

1. a full refresh when the run asks for one (DAG param ``full_refresh``), or a
   command changed landed rows beside the pipeline and asked for one
   (``meridian user forget``, ``meridian tenant purge``:
   meridian.warehouse.rebuild_requests);
2. a full refresh when no build has succeeded yet (nothing to increment);
3. a full refresh when T is before the last successful build's instant (a
   backfill: the incremental tables already hold later hours and days);
4. a full refresh once a week, on day boundaries: the first build whose as-of
   date is the full-refresh weekday (``MERIDIAN_FULL_REFRESH_WEEKDAY``, ISO
   weekday 1-7, default 7 = Sunday) when no full refresh covered that date yet;
   it catches events later than the lookback. The other runs of that day (every
   15 minutes) stay incremental;
5. otherwise incremental, with ``late_arrival_days`` widened by the days the
   runs skipped: after a build with as-of date D, a build at D + k rebuilds from
   D + k − (late_arrival_days + k − 1), so nothing landed in between is missed.
   Builds within the same day (hourly, every 15 minutes) rebuild the same
   lookback of whole days, so a day built hour by hour equals the day built once.

Every build is recorded in ``audit.transform_runs``; the plan reads the last
successful one. The build itself may still turn an incremental plan into a full
refresh when the dbt project changed under the incremental tables since that
build (meridian.transform.project_state): only the parsed project can tell.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from datetime import date, datetime

import psycopg2.extensions

from meridian.runtime import covered_date, parse_instant, to_instant

log = logging.getLogger(__name__)

DEFAULT_LATE_ARRIVAL_DAYS = 3
DEFAULT_FULL_REFRESH_WEEKDAY = 7  # ISO: Sunday

TRANSFORM_RUNS_DDL = """
create table if not exists audit.transform_runs (
    invocation_id text primary key,
    run_id text not null,
    as_of_date date not null,
    as_of_at timestamptz,
    full_refresh boolean not null,
    reason text not null,
    late_arrival_days integer not null,
    status text not null check (status in ('running', 'success', 'failed', 'killed')),
    started_at timestamptz not null default clock_timestamp(),
    ended_at timestamptz,
    nodes integer,
    failures integer,
    seconds numeric(10, 3)
);
alter table audit.transform_runs add column if not exists as_of_at timestamptz;
-- the digests of the project's models, seeds and snapshots a successful build ran (meridian.transform.project_state)
alter table audit.transform_runs add column if not exists project_state jsonb;
-- what an incremental build built and left out, and why (meridian.transform.selection)
alter table audit.transform_runs add column if not exists selection jsonb;
-- the batches visible when the build started, per raw table (meridian.transform.selection.batches_seen)
alter table audit.transform_runs add column if not exists batches_seen jsonb;
"""


class PlanConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RunPlan:
    as_of_at: datetime  # the as-of instant T
    full_refresh: bool
    reason: str
    late_arrival_days: int
    last_built_at: datetime | None
    # the highest full-refresh request this build serves (cleared once it succeeds)
    serves_requests_up_to: int | None = None
    # nodes an incremental build leaves out (meridian.transform.selection), set by the build itself
    exclude: tuple[str, ...] = ()
    # data tests an incremental build adds to its selector's, over the rows it touched (set by the build)
    include: tuple[str, ...] = ()
    # an incremental build's tests of models with meta.tested_rows read the rows written after this instant,
    # the end of the last successful build (macros/testing/tested_rows_condition.sql); set by the build
    tested_rows_since: datetime | None = None

    @property
    def as_of(self) -> date:
        """The as-of date: the UTC date of the last instant the run covers."""
        return covered_date(self.as_of_at)

    @property
    def last_built(self) -> date | None:
        return covered_date(self.last_built_at) if self.last_built_at else None

    @property
    def last_closed_day(self) -> date:
        """The last complete UTC day at T (the day checks and reports that need a closed day key on)."""
        day = self.as_of
        return day if to_instant(day) == self.as_of_at else date.fromordinal(day.toordinal() - 1)

    def dbt_vars(self) -> dict[str, object]:
        values: dict[str, object] = {
            "as_of": self.as_of_at.isoformat(),
            "as_of_date": self.as_of.isoformat(),
            "late_arrival_days": self.late_arrival_days,
        }
        if self.tested_rows_since is not None and not self.full_refresh:
            values["tested_rows_since"] = self.tested_rows_since.isoformat()
        return values

    def as_dict(self) -> dict[str, object]:
        values = asdict(self)
        for built_by_the_build in ("exclude", "include", "tested_rows_since"):
            # the build's own choice, recorded with the run (audit.transform_runs.selection)
            values.pop(built_by_the_build)
        values["as_of_at"] = self.as_of_at.isoformat()
        values["last_built_at"] = self.last_built_at.isoformat() if self.last_built_at else None
        values["as_of"] = self.as_of.isoformat()
        return values

    @classmethod
    def from_dict(cls, values: dict) -> RunPlan:
        last = values.get("last_built_at")
        return cls(
            as_of_at=parse_instant(values["as_of_at"], "plan as_of_at"),
            full_refresh=bool(values["full_refresh"]),
            reason=str(values["reason"]),
            late_arrival_days=int(values["late_arrival_days"]),
            last_built_at=parse_instant(last, "plan last_built_at") if last else None,
            serves_requests_up_to=values.get("serves_requests_up_to"),
        )


def _int_setting(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PlanConfigError(f"{name} must be an integer from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise PlanConfigError(f"{name} must be an integer from {low} to {high}, got {value}")
    return value


def late_arrival_days() -> int:
    return _int_setting("MERIDIAN_LATE_ARRIVAL_DAYS", DEFAULT_LATE_ARRIVAL_DAYS, 0, 365)


def full_refresh_weekday() -> int:
    return _int_setting("MERIDIAN_FULL_REFRESH_WEEKDAY", DEFAULT_FULL_REFRESH_WEEKDAY, 1, 7)


def _instant(as_of_at: datetime | None, as_of_date: date) -> datetime:
    # builds recorded before instants carry only their date: the end of that day
    return to_instant(as_of_at) if as_of_at is not None else to_instant(as_of_date)


def last_successful_builds(conn: psycopg2.extensions.connection) -> tuple[datetime | None, date | None]:
    """The instant of the last successful build, and the as-of date of the last successful full refresh."""
    with conn.cursor() as cur:
        cur.execute(TRANSFORM_RUNS_DDL)
        cur.execute(
            "select as_of_at, as_of_date from audit.transform_runs where status = 'success' "
            "order by ended_at desc limit 1"
        )
        row = cur.fetchone()
        cur.execute(
            "select as_of_date from audit.transform_runs where status = 'success' and full_refresh "
            "order by ended_at desc limit 1"
        )
        full = cur.fetchone()
    return (_instant(row[0], row[1]) if row else None), (full[0] if full else None)


def decide(
    as_of_at: date | datetime,
    last_built_at: date | datetime | None,
    *,
    last_full_refresh: date | None = None,
    requested_full_refresh: bool = False,
    pending_requests: tuple[int, str] | None = None,
    late_days: int = DEFAULT_LATE_ARRIVAL_DAYS,
    weekday: int = DEFAULT_FULL_REFRESH_WEEKDAY,
) -> RunPlan:
    """The plan for a build at instant ``as_of_at`` after a last successful build at ``last_built_at`` (pure).

    A date stands for the end of that day. ``last_full_refresh`` is the as-of date of
    the last successful full refresh (the weekly one is due once per full-refresh day);
    ``pending_requests`` the highest id and the reasons of full refreshes asked for
    beside the pipeline (meridian.warehouse.rebuild_requests).
    """
    now = to_instant(as_of_at)
    last = to_instant(last_built_at) if last_built_at is not None else None

    def plan(full: bool, reason: str, days: int = late_days) -> RunPlan:
        return RunPlan(now, full, reason, days, last)

    if requested_full_refresh:
        return plan(True, "full refresh requested")
    if pending_requests is not None:
        up_to, reasons = pending_requests
        return RunPlan(now, True, f"full refresh requested: {reasons}", late_days, last, up_to)
    if last is None:
        return plan(True, "first build: nothing to increment")
    if now < last:
        return plan(True, f"backfill: as-of {now.isoformat()} is before the last build ({last.isoformat()})")
    day = covered_date(now)
    if day.isoweekday() == weekday and (last_full_refresh is None or last_full_refresh < day):
        return plan(True, "weekly full refresh")
    skipped = max(0, (day - covered_date(last)).days - 1)
    reason = "incremental" if not skipped else f"incremental, lookback widened by {skipped} skipped day(s)"
    return plan(False, reason, late_days + skipped)


def plan_run(
    conn: psycopg2.extensions.connection, as_of_at: date | datetime, *, requested_full_refresh: bool = False
) -> RunPlan:
    from meridian.warehouse.rebuild_requests import pending_full_refresh_requests

    last_built_at, last_full_refresh = last_successful_builds(conn)
    requests = pending_full_refresh_requests(conn)
    pending = (
        (max(request.request_id for request in requests),
         "; ".join(f"{request.reason} (request {request.request_id})" for request in requests))
        if requests else None
    )
    return decide(
        as_of_at,
        last_built_at,
        last_full_refresh=last_full_refresh,
        requested_full_refresh=requested_full_refresh,
        pending_requests=pending,
        late_days=late_arrival_days(),
        weekday=full_refresh_weekday(),
    )


def prepare_and_plan(
    as_of_at: date | datetime, *, requested_full_refresh: bool = False, conn_id: str | None = None
) -> RunPlan:
    """The transform run's first step: the warehouse objects when this code's bootstrap has not run, then the plan.

    On a bootstrapped warehouse this is a few catalog lookups and the plan's
    queries (milliseconds, no table locks): the DDL runs once per code version.
    """
    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID
    from meridian.warehouse.bootstrap import ensure_warehouse_current

    with db.connection(conn_id or WAREHOUSE_CONN_ID) as conn:
        if ensure_warehouse_current(conn):
            log.info("warehouse bootstrap applied (new code version or a new warehouse)")
        return plan_run(conn, as_of_at, requested_full_refresh=requested_full_refresh)
