"""How a transform_warehouse run builds: incremental or full refresh, and its lookback.

The rules, in order:

1. a full refresh when the run asks for one (DAG param ``full_refresh``);
2. a full refresh when no build has succeeded yet (nothing to increment);
3. a full refresh when the as-of date is before the last successful build's
   (a backfill: the incremental tables already hold later days);
4. a full refresh on the weekly full-refresh day (``MERIDIAN_FULL_REFRESH_WEEKDAY``,
   ISO weekday 1-7, default 7 = Sunday), which catches events later than the lookback;
5. otherwise incremental, with ``late_arrival_days`` widened by the days the
   runs skipped: after a build at D, a build at D + k rebuilds from
   D + k − (late_arrival_days + k − 1), so nothing landed in between is missed.

Every build is recorded in ``audit.transform_runs``; the plan reads the last
successful one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import date

import psycopg2.extensions

DEFAULT_LATE_ARRIVAL_DAYS = 3
DEFAULT_FULL_REFRESH_WEEKDAY = 7  # ISO: Sunday

TRANSFORM_RUNS_DDL = """
create table if not exists audit.transform_runs (
    invocation_id text primary key,
    run_id text not null,
    as_of_date date not null,
    full_refresh boolean not null,
    reason text not null,
    late_arrival_days integer not null,
    status text not null check (status in ('running', 'success', 'failed')),
    started_at timestamptz not null default clock_timestamp(),
    ended_at timestamptz,
    nodes integer,
    failures integer,
    seconds numeric(10, 3)
)
"""


class PlanConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RunPlan:
    as_of: date
    full_refresh: bool
    reason: str
    late_arrival_days: int
    last_built: date | None

    def dbt_vars(self) -> dict[str, object]:
        return {"as_of_date": self.as_of.isoformat(), "late_arrival_days": self.late_arrival_days}

    def as_dict(self) -> dict[str, object]:
        values = asdict(self)
        values["as_of"] = self.as_of.isoformat()
        values["last_built"] = self.last_built.isoformat() if self.last_built else None
        return values

    @classmethod
    def from_dict(cls, values: dict) -> RunPlan:
        last = values.get("last_built")
        return cls(
            as_of=date.fromisoformat(str(values["as_of"])),
            full_refresh=bool(values["full_refresh"]),
            reason=str(values["reason"]),
            late_arrival_days=int(values["late_arrival_days"]),
            last_built=date.fromisoformat(str(last)) if last else None,
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


def last_successful_build(conn: psycopg2.extensions.connection) -> date | None:
    with conn.cursor() as cur:
        cur.execute(TRANSFORM_RUNS_DDL)
        cur.execute(
            "select as_of_date from audit.transform_runs where status = 'success' "
            "order by ended_at desc limit 1"
        )
        row = cur.fetchone()
    return row[0] if row else None


def decide(
    as_of: date,
    last_built: date | None,
    *,
    requested_full_refresh: bool = False,
    late_days: int = DEFAULT_LATE_ARRIVAL_DAYS,
    weekday: int = DEFAULT_FULL_REFRESH_WEEKDAY,
) -> RunPlan:
    """The plan for a build at ``as_of`` after a last successful build at ``last_built`` (pure)."""
    if requested_full_refresh:
        return RunPlan(as_of, True, "full refresh requested", late_days, last_built)
    if last_built is None:
        return RunPlan(as_of, True, "first build: nothing to increment", late_days, last_built)
    if as_of < last_built:
        return RunPlan(as_of, True, f"backfill: as-of {as_of} is before the last build ({last_built})", late_days,
                       last_built)
    if as_of.isoweekday() == weekday:
        return RunPlan(as_of, True, "weekly full refresh", late_days, last_built)
    skipped = max(0, (as_of - last_built).days - 1)
    reason = "incremental" if not skipped else f"incremental, lookback widened by {skipped} skipped day(s)"
    return RunPlan(as_of, False, reason, late_days + skipped, last_built)


def plan_run(conn: psycopg2.extensions.connection, as_of: date, *, requested_full_refresh: bool = False) -> RunPlan:
    return decide(
        as_of,
        last_successful_build(conn),
        requested_full_refresh=requested_full_refresh,
        late_days=late_arrival_days(),
        weekday=full_refresh_weekday(),
    )
