"""The event counts kept in audit give the alerts the scan of stg_app__events gives (meridian.quality.event_counts).

A private warehouse holds ``staging.base_app__events`` shaped as dbt builds it
(the columns the counts follow) and ``staging.stg_app__events`` as its view:
the current rows before the as-of instant T. Builds are played by hand:
appending rows stamped with a new ``_transformed_at``, moving T, replacing
the table (a full refresh). After each, the event checks run on the kept
counts and are compared with the statement they replaced (the 29-day scan of
the view, ``checks.EVENT_WINDOW_SQL``): the same window rows and the same
alerts (type, text, severity, day, key). The rows cover what decides a count:
accepted current rows only (quarantined and duplicate copies are in the table,
not current), several tenants, UTC day edges, an instant inside a day (the
day so far), an event stamped ahead of T (counted from the run after it
occurred), late events for days long closed, an earlier as-of date than the
counts kept, and a full refresh that reclassifies rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import psycopg2.extras
import pytest

from meridian import db
from meridian.quality import checks, event_counts
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

D = date(2026, 10, 31)
BASE_DDL = """
create table staging.base_app__events (
    id text, tenant_id text, event_type text, occurred_at timestamptz,
    row_status text, is_current boolean, _transformed_at timestamptz
);
create index on staging.base_app__events (occurred_at);
create index on staging.base_app__events (_transformed_at);
"""


def at(day: date, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second, micro), tzinfo=UTC)


def show_until(cur, instant: datetime) -> None:
    """stg_app__events as dbt builds it at the as-of instant ``instant``."""
    cur.execute(
        "create or replace view staging.stg_app__events as select id, tenant_id, event_type, occurred_at "
        "from staging.base_app__events where is_current and occurred_at < %s",
        (instant,),
    )


def history(rng: random.Random) -> list[tuple]:
    """45 days up to D of three tenants; acme steady, globex silent on D, initech sending an unknown type."""
    rows = []
    for offset in range(45, -1, -1):
        day = D - timedelta(days=offset)
        for tenant, mean in (("acme", 30), ("globex", 12), ("initech", 8)):
            if tenant == "globex" and offset == 0:
                continue
            count = max(0, int(rng.gauss(mean, 3))) + (40 if tenant == "acme" and offset == 0 else 0)
            for n in range(count):
                event_type = "hologram_open" if tenant == "initech" and n == 0 and offset < 10 else "app_open"
                rows.append((tenant, event_type, at(day, rng.randrange(24), rng.randrange(60))))
        # the edges of the UTC day: the last microsecond of it and the first of the next
        rows.append(("acme", "screen_view", at(day, 23, 59, 59, 999999)))
        rows.append(("acme", "screen_view", at(day + timedelta(days=1))))
    return rows


class Warehouse:
    def __init__(self) -> None:
        self.next_id = 0
        self.stamp = datetime(2026, 11, 1, 1, tzinfo=UTC)

    def build(self, cur, rows: list[tuple], *, status: str = "accepted", current: bool = True) -> None:
        """Append ``rows`` (tenant, event_type, occurred_at) as one incremental build, with a new stamp."""
        self.stamp += timedelta(hours=1)
        values = []
        for tenant, event_type, occurred_at in rows:
            self.next_id += 1
            values.append((f"e{self.next_id}", tenant, event_type, occurred_at, status, current, self.stamp))
        psycopg2.extras.execute_values(cur, "insert into staging.base_app__events values %s", values)


def scanned(conn, as_of: date) -> list[tuple]:
    """The window rows of the statement the kept counts replaced: a scan of the view's 29 days."""
    window = checks.Window(as_of)
    with conn.cursor() as cur:
        cur.execute(checks.EVENT_WINDOW_SQL, (window.start, window.end))
        return cur.fetchall()


@pytest.fixture(scope="module")
def warehouse() -> Iterator[None]:
    with private_warehouse("meridian-quality-counts-test-", ensure_warehouse):
        yield


@pytest.fixture
def conn(warehouse: None) -> Iterator:
    connection = db.connect("warehouse")
    with connection.cursor() as cur:
        cur.execute("drop view if exists staging.stg_app__events")
        cur.execute("drop table if exists staging.base_app__events, audit.quality_event_counts, "
                    "audit.quality_event_counts_state")
        cur.execute(BASE_DDL)
    connection.commit()
    yield connection
    connection.rollback()
    connection.close()


def check(conn, as_of: date, recounts: list) -> str | None:
    """Compare the kept counts' window rows and alerts for ``as_of`` with the scan's; why they were counted
    again (None: brought up to date with the new rows)."""
    before = len(recounts)
    kept_rows = checks.event_window_counts(conn, as_of)
    assert len(recounts) == before + 1  # the kept counts were read, not the window
    kept = checks.event_alerts_from_counts(kept_rows, as_of)
    scan_rows = scanned(conn, as_of)
    assert sorted(kept_rows) == sorted(scan_rows), as_of
    assert kept == checks.event_alerts_from_counts(scan_rows, as_of), as_of
    conn.commit()
    return recounts[-1]


def test_kept_counts_give_the_alerts_of_the_scan(conn, monkeypatch: pytest.MonkeyPatch) -> None:
    recounts: list = []
    real = event_counts.refresh_event_counts

    def spy(connection, first_day):
        summary = real(connection, first_day)
        recounts.append(summary["recounted"])
        return summary

    monkeypatch.setattr(event_counts, "refresh_event_counts", spy)
    rng = random.Random(7)
    warehouse = Warehouse()
    with conn.cursor() as cur:
        warehouse.build(cur, history(rng))
        # copies that are no current row: a duplicate of an accepted event, a quarantined one, on D
        warehouse.build(cur, [("acme", "app_open", at(D, 9))] * 3, status="duplicate", current=False)
        warehouse.build(cur, [("globex", "app_open", at(D, 10))] * 2, status="quarantined", current=False)
        show_until(cur, at(D + timedelta(days=1)))
    conn.commit()

    assert check(conn, D, recounts) == "no counts yet"  # the first check counts the window from the view
    # the case is not empty: a spike, a missing tenant, an unknown type
    alerts = checks.event_alerts(conn, D)
    assert {a.alert_type for a in alerts} == {"data_spike", "missing_data", "data_drop", "new_event_type"}

    # an hourly build at D+1 15:00: the day so far, late events of days long closed (D-10, D-27), a copy
    # that is not current, and an event stamped ahead of the instant (18:00, counted from the run after it)
    late = [("globex", "app_open", at(D - timedelta(days=10), 3))] * 5 + [("acme", "app_open", at(D - timedelta(days=27)))]
    with conn.cursor() as cur:
        warehouse.build(cur, [("acme", "app_open", at(D + timedelta(days=1), hour)) for hour in range(15)]
                        + late + [("initech", "hologram_open", at(D + timedelta(days=1), 18))])
        warehouse.build(cur, [("acme", "app_open", at(D + timedelta(days=1), 2)),
                              ("globex", "app_open", at(D - timedelta(days=3), 5))], status="duplicate", current=False)
        show_until(cur, at(D + timedelta(days=1), 15))
    conn.commit()
    assert check(conn, D, recounts) is None
    assert check(conn, D + timedelta(days=1), recounts) is None  # the open day, as far as it goes

    # the next hours, then the day closes: the event stamped ahead comes into view without a new row
    with conn.cursor() as cur:
        warehouse.build(cur, [("acme", "app_open", at(D + timedelta(days=1), hour, 30)) for hour in range(15, 24)])
        show_until(cur, at(D + timedelta(days=1), 20))
    conn.commit()
    assert check(conn, D + timedelta(days=1), recounts) is None
    with conn.cursor() as cur:
        show_until(cur, at(D + timedelta(days=2)))
    conn.commit()
    assert check(conn, D + timedelta(days=1), recounts) is None

    # an earlier as-of date than the counts keep: its missing days are counted once, then kept
    assert check(conn, D - timedelta(days=12), recounts) is None
    assert check(conn, D - timedelta(days=5), recounts) is None

    # a full refresh replaces the table; here it also accepts the quarantined copies: counted again
    with conn.cursor() as cur:
        cur.execute("alter table staging.base_app__events rename to base_before")
        cur.execute(BASE_DDL)
        cur.execute("insert into staging.base_app__events select id, tenant_id, event_type, occurred_at, "
                    "'accepted', row_status <> 'duplicate', _transformed_at from staging.base_before")
        show_until(cur, at(D + timedelta(days=2)))
        cur.execute("drop table staging.base_before")
    conn.commit()
    assert "another table" in check(conn, D + timedelta(days=1), recounts)

    # an as-of instant earlier than the counted events (a backfill): counted again
    with conn.cursor() as cur:
        show_until(cur, at(D, 12))
    conn.commit()
    assert "no event at or after" in check(conn, D, recounts)


@pytest.mark.parametrize("base_columns", [None, "id text, tenant_id text, event_type text, occurred_at timestamptz, "
                                                "is_current boolean"])
def test_a_view_not_over_the_dbt_base_table_is_scanned(conn, base_columns: str | None) -> None:
    """stg_app__events as a table, or a view over a base table without the change stamp: the window is scanned."""
    with conn.cursor() as cur:
        cur.execute("drop table staging.base_app__events")
        if base_columns is None:
            cur.execute("create table staging.stg_app__events (id text, tenant_id text, event_type text, "
                        "occurred_at timestamptz, is_current boolean)")
        else:
            cur.execute(f"create table staging.base_app__events ({base_columns})")
            show_until(cur, at(D + timedelta(days=1)))
        target = "staging.stg_app__events" if base_columns is None else "staging.base_app__events"
        cur.execute(f"insert into {target} select 'e' || n, 'acme', 'brand_new', %s, true "
                    "from generate_series(1, 3) as n", (at(D, 8),))
    assert not event_counts.can_keep_counts(conn)
    alerts = checks.event_alerts(conn, D)
    assert [(a.alert_type, a.actual_value) for a in alerts] == [("new_event_type", 3)]
    with conn.cursor() as cur:
        cur.execute("select to_regclass('audit.quality_event_counts')")
        assert cur.fetchone()[0] is None
