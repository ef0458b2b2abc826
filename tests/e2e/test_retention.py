"""13-month raw retention end to end: a purge followed by a full refresh leaves every mart unchanged.

A server of its own (warehouse, sources, landing dir, Airflow home), so the
shared e2e pipeline is never touched: 1 tenant, 100 users, 480 days ending
2026-10-31 (events from July 2025). ``airflow dags test`` runs extract_sources
and transform_warehouse at the as-of 2026-11-01T00:00Z, then
warehouse_maintenance at the same instant: the cutoff is 2025-10-01, so July,
August and September 2025 are purged (both origins: database rows and
event-file lines). A full-refresh transform then rebuilds staging from raw and
history, and every mart table must equal, row for row, what it was before the
purge. A second maintenance run changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from meridian import db
from tests.conftest import private_stack

pytestmark = pytest.mark.e2e

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
END_DATE = date(2026, 10, 31)
SIZE = {"tenants": 1, "users": 100, "days": 480}
PURGED_MONTHS = ["2025-07", "2025-08", "2025-09"]


@pytest.fixture(scope="module")
def stack(test_env) -> Iterator[dict]:
    """A private embedded PostgreSQL with every connection, landing dir and Airflow home pointed at it."""
    with private_stack("meridian-retention-e2e-") as base:
        yield {"base": base}


def query(sql: str, params: tuple = ()) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def tables_of(schema: str) -> dict[str, list[tuple]]:
    names = [row[0] for row in query(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE'",
        (schema,))]
    return {name: sorted(query(f'select * from {schema}."{name}"'), key=repr) for name in sorted(names)}


def raw_months() -> dict[str, int]:
    rows = query(
        "select to_char(occurred_at at time zone 'UTC', 'YYYY-MM'), count(*) from "
        "(select occurred_at from raw.app__events union all select occurred_at from raw.app__event_files) as raw "
        "where occurred_at is not null group by 1"
    )
    return dict(rows)


def test_purge_then_full_refresh_rebuilds_identical_marts(stack):
    from meridian.airflow_env import airflow_env, run_airflow
    from meridian.demo.generate import generate
    from meridian.warehouse.retention import run_maintenance

    generate(seed=13, progress=False, end_date=END_DATE, **SIZE)
    env = airflow_env()
    logs = stack["base"] / "logs"
    run_airflow(["db", "migrate"], env=env, capture=logs / "db_migrate.log")

    def run(dag_id: str, label: str, **conf) -> None:
        args = ["dags", "test", dag_id, END_DATE.isoformat(), "--conf", json.dumps({"as_of": AS_OF.isoformat(), **conf})]
        run_airflow(args, env=env, capture=logs / f"{dag_id}-{label}.log")

    run("extract_sources", "first")
    run("transform_warehouse", "first")
    marts_before = tables_of("marts")
    events_before = sorted(query("select * from staging.stg_app__events"), key=repr)
    batches_before = query("select batch_id, landed, accepted, quarantined, duplicates from audit.batches "
                           "order by batch_id")
    months_before = raw_months()
    # the purged months hold raw rows from both origins and show in the marts
    assert all(months_before.get(month, 0) > 0 for month in PURGED_MONTHS), months_before
    assert query("select count(*) from raw.app__event_files where occurred_at < '2025-10-01'")[0][0] > 0
    assert query("select count(*) from raw.app__events where occurred_at < '2025-10-01'")[0][0] > 0
    assert query("select count(*) from marts.fct_daily_kpis where kpi_date < '2025-10-01'")[0][0] > 0
    old_events = query("select count(*) from staging.stg_app__events where occurred_at < '2025-10-01'")[0][0]
    assert old_events > 0

    run("warehouse_maintenance", "first")
    months_after = raw_months()
    assert not set(PURGED_MONTHS) & set(months_after), months_after
    assert {m: n for m, n in months_before.items() if m >= "2025-10"} == months_after
    # history holds exactly the staging events of the purged raw rows: one per event, no duplicates
    assert query("select count(*), count(distinct id), max(occurred_at) < '2025-10-01' "
                 "from history.app__events") == [(old_events, old_events, True)]
    purged_batches = query("select count(*) from audit.batches where purged_at is not null")[0][0]
    assert purged_batches > 0
    purged_months = {row[0][:7] for row in query("select month::text from audit.raw_purges")}
    assert set(PURGED_MONTHS) <= purged_months and max(purged_months) < "2025-10", purged_months

    # staging from raw and history: every mart row of every month as before, batch accounting intact
    run("transform_warehouse", "full-refresh", full_refresh=True)
    marts_after = tables_of("marts")
    assert set(marts_after) == set(marts_before)
    for name, rows in marts_before.items():
        assert marts_after[name] == rows, f"marts.{name} changed after the purge and a full refresh"
    assert sorted(query("select * from staging.stg_app__events"), key=repr) == events_before
    assert query("select batch_id, landed, accepted, quarantined, duplicates from audit.batches "
                 "order by batch_id") == batches_before
    assert query("select count(*) from audit.batches where landed is distinct from accepted + quarantined + duplicates"
                 ) == [(0,)]
    assert query("select count(*) from audit.batch_outcomes where is_purged")[0][0] == purged_batches

    # a second purge is harmless
    history = tables_of("history")
    summary = run_maintenance(AS_OF)
    assert summary["purge"]["purged"] == [] and summary["purge"]["deferred"] == {}
    assert tables_of("history") == history
    assert raw_months() == months_after
