"""Run semantics shared by the DAGs: the as-of date of a DAG run.

The as-of date is the date of the run's logical date (``ds``). Runs triggered
by an asset event have no logical date in Airflow 3; they take the as-of date
carried in the triggering event's extra, else the date the run was queued for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


def as_of_date(context: Mapping[str, Any]) -> date:
    logical: datetime | None = context.get("logical_date")
    if logical is not None:
        return logical.date()
    events = context.get("triggering_asset_events") or {}
    dates = []
    for asset_events in events.values():
        for event in asset_events:
            value = (getattr(event, "extra", None) or {}).get("as_of_date")
            if value:
                dates.append(date.fromisoformat(value))
    if dates:
        return max(dates)
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is not None:
        return run_after.date()
    raise ValueError("cannot tell the as-of date: the run has no logical date, asset event or run_after")


def as_of_date_str(context: Mapping[str, Any]) -> str:
    return as_of_date(context).isoformat()
