"""Run semantics shared by the DAGs: the as-of instant of a DAG run.

A run covers exactly the activity before its **as-of instant** T (docs/metrics.md,
"As-of instant"): any second, not only midnight. T is, in order:

1. the run's conf ``as_of`` (an ISO 8601 instant; a bare date means the end of
   that UTC day, a naive time means UTC);
2. the end of the run's data interval (for a scheduled or ``airflow dags test``
   run, its logical date);
3. for a run triggered by an asset event (no data interval in Airflow 3), the
   latest ``as_of`` carried in the triggering events' extra (``as_of_date``
   from older events means the end of that day);
4. the instant the run was queued for (``run_after``).

The **as-of date** is the UTC date of the last instant a run covers: the date
of T − 1 µs. A run at 2026-10-31T14:00Z has as-of date 2026-10-31 (a partial
day); a run at 2026-11-01T00:00Z covers all of 2026-10-31, its as-of date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

EARLIEST_AS_OF = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AS_OF = datetime(2101, 1, 1, tzinfo=UTC)


class AsOfError(ValueError):
    """A bad as-of value; the message names where it came from."""


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` (UTC): the as-of instant that covers the whole day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def to_instant(value: date | datetime) -> datetime:
    """A date becomes the end of that UTC day; a datetime becomes aware (naive = UTC)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return end_of_day(value)


def parse_instant(value: object, where: str = "conf as_of") -> datetime:
    """An ISO 8601 instant or date (``2026-10-31T14:00:05Z``, ``2026-10-31``) as an aware UTC datetime."""
    if isinstance(value, datetime | date):
        instant = to_instant(value)
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                instant = end_of_day(date.fromisoformat(text))
            else:
                instant = to_instant(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")))
        except ValueError:
            raise AsOfError(
                f"{where} must be an ISO 8601 instant such as 2026-10-31T14:00:00Z (or a date), got {value!r}"
            ) from None
    if not EARLIEST_AS_OF <= instant <= LATEST_AS_OF:
        raise AsOfError(f"{where} must lie between 2000-01-01 and 2100-12-31, got {instant.isoformat()}")
    return instant


def covered_date(instant: datetime) -> date:
    """The as-of date of an instant: the UTC date of the last microsecond before it."""
    return (to_instant(instant) - timedelta(microseconds=1)).date()


def _conf(context: Mapping[str, Any]) -> Mapping[str, Any]:
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) if dag_run is not None else None
    return conf or {}


def as_of_instant(context: Mapping[str, Any]) -> datetime:
    """The as-of instant T of a DAG run (see the module docstring for the order of the rules)."""
    requested = _conf(context).get("as_of")
    if requested not in (None, ""):
        return parse_instant(requested)
    interval_end: datetime | None = context.get("data_interval_end")
    if interval_end is not None:
        return to_instant(interval_end)
    logical: datetime | None = context.get("logical_date")
    if logical is not None:
        return to_instant(logical)
    events = context.get("triggering_asset_events") or {}
    instants = []
    for asset_events in events.values():
        for event in asset_events:
            extra = getattr(event, "extra", None) or {}
            if extra.get("as_of"):
                instants.append(parse_instant(extra["as_of"], "the raw asset event's as_of"))
            elif extra.get("as_of_date"):
                instants.append(parse_instant(extra["as_of_date"], "the raw asset event's as_of_date"))
    if instants:
        return max(instants)
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is not None:
        return to_instant(run_after)
    raise AsOfError("cannot tell the as-of instant: the run has no conf as_of, data interval, asset event or run_after")


def as_of_date(context: Mapping[str, Any]) -> date:
    """The as-of date of a DAG run: the UTC date of the last instant it covers."""
    return covered_date(as_of_instant(context))


def as_of_date_str(context: Mapping[str, Any]) -> str:
    return as_of_date(context).isoformat()
