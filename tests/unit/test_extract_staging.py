"""What the extraction's re-reads and unkeyed rows become in staging: duplicates, and every row counted.

Runs the real extraction, then dbt on the base models and ``audit.batch_outcomes``
(not the marts), and checks ``landed = accepted + quarantined + duplicates`` per
batch, with the rows read again counted as duplicates exactly once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from meridian import db
from meridian.extract.tables import extract_table
from meridian.sources.schema import table
from tests.unit.test_extract import clean_databases  # noqa: F401 - the fixture

ORGANIZATIONS, USERS, EVENTS = table("app", "organizations"), table("app", "users"), table("app", "events")
DAY1, DAY2 = date(2024, 1, 1), date(2024, 1, 2)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def source(sql: str, params: tuple = ()) -> None:
    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute(sql, params)


def extract_app(as_of: date, overlap: timedelta) -> dict[str, int]:
    with db.connection("source_app") as src, db.connection("warehouse") as wh:
        return {spec.name: extract_table(spec, as_of, src, wh, overlap=overlap).batch_id
                for spec in (ORGANIZATIONS, USERS, EVENTS)}


@pytest.mark.e2e
def test_rereads_are_duplicates_once_and_unkeyed_rows_are_counted(clean_databases, tmp_path):  # noqa: F811
    from meridian.airflow_env import airflow_env, run_dbt

    source("insert into public.organizations (id, tenant_id, name, currency, created_at, updated_at) "
           "values ('t1', 't1', 'T1', 'USD', %s, %s)", (at(DAY1, 1), at(DAY1, 1)))
    user = ("insert into public.users (id, tenant_id, email, signup_at, platform, country, acquisition_channel, "
            "updated_at) values (%s, 't1', %s, %s, 'web', 'US', 'organic', %s)")
    source(user, ("u1", "u1@example.com", at(DAY1, 2), at(DAY1, 20)))
    source(user, ("u_null", "n@example.com", at(DAY1, 2), None))
    event = ("insert into public.events (id, tenant_id, user_id, event_type, platform, occurred_at, received_at) "
             "values (%s, 't1', 'u1', 'app_open', 'web', %s, %s)")
    source(event, ("e1", at(DAY1, 21), at(DAY1, 21)))
    source(event, ("e_null", at(DAY1, 21), None))  # received_at is required: quarantined, but counted
    first = extract_app(DAY1, timedelta(0))
    source(user, ("u_late", "l@example.com", at(DAY1, 3), at(DAY1, 3)))  # committed after the first read
    # a six-hour overlap reads u1 and e1 (stamped 20:00 and 21:00) a second time
    second = extract_app(DAY2, timedelta(hours=6))

    env = airflow_env()
    env["DBT_TARGET_PATH"] = str(tmp_path / "target")
    env["DBT_LOG_PATH"] = str(tmp_path / "logs")
    as_of_vars = f"{{as_of_date: '{DAY2.isoformat()}', as_of: '{(DAY2 + timedelta(days=1)).isoformat()}'}}"
    result = run_dbt(["run", "--select", "+batch_outcomes", "--vars", as_of_vars], env=env, check=False)
    assert result.returncode == 0, "dbt run failed; see the output above"

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select batch_id, landed, accepted, quarantined, duplicates from audit.batch_outcomes "
                    "where landed is not null order by batch_id")
        outcomes = {row[0]: row[1:] for row in cur.fetchall()}
        cur.execute("select id from staging.base_app__users where is_current order by id")
        current_users = [row[0] for row in cur.fetchall()]
        cur.execute("select id, row_status from staging.base_app__events order by id, row_status")
        events = cur.fetchall()
    # (landed, accepted, quarantined, duplicates) per batch
    assert outcomes[first["organizations"]] == (1, 1, 0, 0)
    assert outcomes[first["users"]] == (2, 2, 0, 0)
    assert outcomes[first["events"]] == (2, 1, 1, 0)
    assert outcomes[second["organizations"]] == (0, 0, 0, 0)  # stamped 01:00: outside the overlap
    assert outcomes[second["users"]] == (2, 1, 0, 1)  # u_late new, u1 again
    assert outcomes[second["events"]] == (1, 0, 0, 1)  # e1 again
    for batch_id, (landed, accepted, quarantined, duplicates) in outcomes.items():
        assert landed == accepted + quarantined + duplicates, batch_id
    assert current_users == ["u1", "u_late", "u_null"]
    assert events == [("e1", "accepted"), ("e1", "duplicate"), ("e_null", "quarantined")]
