"""One real pipeline run shared by the end-to-end tests.

Generates a small dataset, runs ``airflow dags test extract_sources`` and
``transform_warehouse`` for an earlier as-of date and then for the last
generated day (so the second run is incremental on the first), and keeps
everything the tests compare: the source rows, the event-file lines, and the
marts.
"""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, date, timedelta
from pathlib import Path

import psycopg2.extras
import pytest

from meridian import db
from meridian.sources.schema import TABLES

SEED = 20261031
SIZE = {"tenants": 2, "users": 500, "days": 75}
# the generator delivers a few events 2-5 days late: a lookback of 5 days covers them all, so the
# incremental run must match a full refresh exactly (with the default 3, the weekly full refresh
# is what catches the 4-5 day ones)
LATE_ARRIVAL_DAYS = 5


def read_source_rows() -> dict[str, list[dict]]:
    """Every source table as a list of dicts (``select *``), keyed by table name."""
    rows: dict[str, list[dict]] = {}
    for spec in TABLES:
        with db.connection(f"source_{spec.source}") as conn:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute(f"select * from public.{spec.name}")
                rows[spec.name] = [dict(row) for row in cur.fetchall()]
    return rows


def read_event_file_lines(landing_dir: Path) -> list[tuple[str, int, str]]:
    """(file name, line number, text) of every non-blank line in the landing dir and its archive."""
    lines = []
    paths = sorted([*landing_dir.glob("*.jsonl*"), *(landing_dir / "archive").glob("*.jsonl*")])
    for path in paths:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if text.strip():
                    lines.append((path.name, number, text))
    return lines


def snapshot_schema(schema: str, *, as_text: bool = False) -> dict[str, list[tuple]]:
    """Every table of ``schema`` as sorted rows (for exact comparisons between runs).

    ``as_text``: each row as PostgreSQL's text of the whole row (byte for byte: a numeric's scale, a
    timestamp's precision and a null all show), not as Python values (where 1.0 == 1.00).
    """
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE'",
            (schema,),
        )
        names = sorted(row[0] for row in cur.fetchall())
        snapshot = {}
        for name in names:
            cur.execute(f'select rows::text from {schema}."{name}" as rows' if as_text
                        else f'select * from {schema}."{name}"')
            snapshot[name] = sorted(cur.fetchall(), key=repr)
        return snapshot


def query(sql: str, params: tuple = ()) -> list[dict]:
    with db.connection("warehouse") as conn:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(row) for row in cur.fetchall()]


def run_dag(dag_id: str, as_of, env, log_dir: Path, conf: dict | None = None, label: str = "") -> float:
    """``airflow dags test`` of ``dag_id`` up to the as-of instant ``as_of`` (a date: the end of that day).

    The instant goes in the conf (``as_of``); the logical date is the instant itself.
    """
    from meridian.airflow_env import run_airflow
    from meridian.runtime import to_instant

    started = time.monotonic()
    instant = to_instant(as_of)
    args = ["dags", "test", dag_id, instant.isoformat(), "--conf", json.dumps({"as_of": instant.isoformat(), **(conf or {})})]
    name = as_of.isoformat().replace(":", "") if hasattr(as_of, "hour") else as_of.isoformat()
    run_airflow(args, env=env, capture=log_dir / f"{dag_id}-{name}{label}.log")
    return time.monotonic() - started


def insert_late_event(sources: dict[str, list[dict]], file_lines, earlier: date) -> dict:
    """An app event that occurred the day before ``earlier`` but is received two days later.

    The run at ``earlier`` cannot see it (its extract window ends with that day);
    the next, incremental run must count it on the day it occurred. The user is
    one who signed up before that day and has no other event on it, so the
    day's active users grow by exactly one.
    """
    from datetime import datetime
    from datetime import time as clock

    day = earlier - timedelta(days=1)
    active = {(row["tenant_id"], row["user_id"]) for row in sources["events"]
              if row["occurred_at"] is not None and row["occurred_at"].astimezone(UTC).date() == day}
    for _name, _number, text in file_lines:
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and str(value.get("occurred_at", "")).startswith(day.isoformat()):
            active.add((value.get("tenant_id"), value.get("user_id")))
    user = next(
        row for row in sorted(sources["users"], key=lambda row: (row["tenant_id"], row["id"]))
        if row["signup_at"] is not None and row["signup_at"].astimezone(UTC).date() < day
        and (row["tenant_id"], row["id"]) not in active
    )
    event = {
        "id": "evt_late_arrival_0001",
        "tenant_id": user["tenant_id"],
        "user_id": user["id"],
        "session_id": "ses_late_arrival_0001",
        "event_type": "app_open",
        "properties": None,
        "platform": "ios",
        "app_version": "1.0.0",
        "country": "US",
        "occurred_at": datetime.combine(day, clock(12, 0), tzinfo=UTC),
        "received_at": datetime.combine(earlier + timedelta(days=1), clock(9, 0), tzinfo=UTC),
    }
    columns = list(event)
    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute(
            f"insert into public.events ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))})",
            [event[column] for column in columns],
        )
    sources["events"].append(event)
    return {"event": event, "day": day, "tenant_id": user["tenant_id"]}


def active_users_on(tenant_id: str, day: date) -> int:
    rows = query("select active_users from marts.fct_daily_kpis where tenant_id = %s and kpi_date = %s",
                 (tenant_id, day))
    return rows[0]["active_users"] if rows else 0


@pytest.fixture(scope="session")
def pipeline(warehouse_server):
    """Generate, then run extract + transform twice (an earlier day, then the last day)."""
    from meridian.airflow_env import airflow_env, run_airflow
    from meridian.config import settings
    from meridian.demo.generate import generate
    from meridian.demo.pipeline import ensure_manifest, reset_warehouse

    cfg = settings()
    summary = generate(seed=SEED, progress=False, **SIZE)
    file_lines = read_event_file_lines(cfg.landing_dir)
    sources = read_source_rows()
    late = insert_late_event(sources, file_lines, summary.end_date - timedelta(days=4))
    reset_warehouse()
    env = airflow_env()
    env["MERIDIAN_LATE_ARRIVAL_DAYS"] = str(LATE_ARRIVAL_DAYS)
    log_dir = cfg.state_dir / "logs" / "e2e"
    ensure_manifest(env)
    run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")
    as_of = summary.end_date
    earlier = as_of - timedelta(days=4)
    # files arrive over time: hold back the files received after the earlier day for the second run
    held_back = cfg.state_dir / "held-back"
    held_back.mkdir(parents=True, exist_ok=True)
    for path in cfg.landing_dir.glob("events_*.jsonl*"):
        if file_day(path.name) > earlier:
            path.rename(held_back / path.name)
    timings = {}
    for day in (earlier, as_of):
        if day == as_of:
            late["active_users_before"] = active_users_on(late["tenant_id"], late["day"])
            for path in held_back.iterdir():
                path.rename(cfg.landing_dir / path.name)
        for dag_id in ("extract_sources", "transform_warehouse"):
            timings[(dag_id, day)] = run_dag(dag_id, day, env, log_dir)
    late["active_users_after"] = active_users_on(late["tenant_id"], late["day"])
    marts_incremental = snapshot_schema("marts")
    # the same as-of date rebuilt from scratch: the incremental run must have produced exactly this
    timings[("transform_warehouse", "full refresh")] = run_dag(
        "transform_warehouse", as_of, env, log_dir, conf={"full_refresh": True}, label="-full-refresh")
    return {
        "summary": summary,
        "as_of": as_of,
        "earlier": earlier,
        "sources": sources,
        "file_lines": file_lines,
        "env": env,
        "log_dir": log_dir,
        "timings": timings,
        "marts": snapshot_schema("marts"),
        "marts_incremental": marts_incremental,
        "late": late,
        "transform_runs": query("select as_of_date, full_refresh, reason, late_arrival_days, status "
                                "from audit.transform_runs order by started_at"),
    }


@pytest.fixture(scope="module")
def accepted(pipeline):
    """The source rows the pipeline accepts, by table (expected.py), every event-file line loaded whole."""
    from tests.e2e import expected

    return expected.accepted_rows(
        pipeline["sources"], pipeline["file_lines"], pipeline["as_of"], files_loaded_whole=True
    )


def mismatches(expected_map: dict, actual_map: dict, limit: int = 10) -> list[str]:
    """The keys whose expected and mart values differ (at most ``limit`` of them, then how many more)."""
    keys = sorted(set(expected_map) | set(actual_map), key=repr)
    diffs = [
        f"{key}: expected {expected_map.get(key, '<missing>')!r}, mart has {actual_map.get(key, '<missing>')!r}"
        for key in keys
        if expected_map.get(key) != actual_map.get(key)
    ]
    return diffs[:limit] + ([f"... {len(diffs) - limit} more"] if len(diffs) > limit else [])



def keyed(rows: list[dict], keys: tuple[str, ...], values: str | tuple[str, ...]) -> dict:
    """The rows by the tuple of their ``keys`` columns: the ``values`` column, or the tuple of those columns."""
    if isinstance(values, str):
        return {tuple(row[key] for key in keys): row[values] for row in rows}
    return {tuple(row[key] for key in keys): tuple(row[value] for value in values) for row in rows}

def file_day(name: str) -> date:
    """The day of receipt in an event file name ``events_<tenant>_<YYYY-MM-DD>.jsonl[.gz]``."""
    return date.fromisoformat(name.split(".")[0].rsplit("_", 1)[1])


def parse_lines(file_lines: list[tuple[str, int, str]]) -> list[dict]:
    """The event-file lines as the expected-values module takes them."""
    parsed = []
    for name, number, text in file_lines:
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        parsed.append({"file": name, "line_number": number, "line": text, "value": value})
    return parsed
