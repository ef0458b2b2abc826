"""check_data_quality skips its event and payment reads when nothing they read changed (meridian.transform.quality).

A private warehouse holds the relations the checks read, shaped by hand, with a
tenant whose events spike on the checked day, and audit.transform_runs rows
standing for the builds between checks. The checks read again after a build
that found new source rows, a full refresh, a failed build, a changed project,
and for another day; they skip otherwise, and the spike's alert stays recorded
once either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from meridian import db
from meridian.quality import checks
from meridian.transform.plan import TRANSFORM_RUNS_DDL
from meridian.transform.quality import check_and_notify
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse
from tests.unit.test_quality_checks import STEADY, create_checked_tables

AS_OF = date(2026, 10, 31)
STATE = {"model.meridian.stg_app__events": "a1"}


@pytest.fixture(scope="module")
def warehouse() -> Iterator[None]:
    with private_warehouse("meridian-quality-skip-test-"):
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            ensure_warehouse(conn)
            cur.execute(TRANSFORM_RUNS_DDL)
            create_checked_tables(conn)
            # 28 steady days of 20 events with a wobble, then 80 on the checked day: a data_spike
            for offset in range(28, -1, -1):
                day = AS_OF - timedelta(days=offset)
                count = 80 if offset == 0 else STEADY[offset % 7]
                cur.execute("insert into staging.stg_app__events select 't' || %s || '-' || n, 'acme', 'page_view', "
                            "%s from generate_series(1, %s) as n",
                            (offset, datetime.combine(day, time(12), tzinfo=UTC), count))
        yield


@pytest.fixture()
def reads(warehouse: None, monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """The days the event check read, appended on each read."""
    seen: list[date] = []
    real = checks.event_alerts

    def spy(conn, as_of):
        seen.append(as_of)
        return real(conn, as_of)

    monkeypatch.setattr(checks, "event_alerts", spy)
    return seen


def build(name: str, *, changed: tuple[str, ...] = ("audit.batches",), full_refresh: bool = False,
          status: str = "success", state: dict | None = None) -> None:
    selection = None if full_refresh else {"changed_sources": list(changed)}
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            "insert into audit.transform_runs (invocation_id, run_id, as_of_date, full_refresh, reason, "
            "late_arrival_days, status, started_at, ended_at, selection, project_state) "
            "values (%s, %s, %s, %s, 'test', 3, %s, clock_timestamp(), clock_timestamp(), %s, %s)",
            (name, name, AS_OF, full_refresh, status, json.dumps(selection) if selection else None,
             json.dumps(state or STATE)))


def spikes() -> int:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select count(*) from audit.data_quality_alerts where alert_type = 'data_spike'")
        return cur.fetchone()[0]


def test_the_event_and_payment_reads_run_when_something_changed_and_skip_otherwise(reads):
    build("b1", changed=("raw.app__events", "audit.batches"))
    first = check_and_notify(AS_OF)
    assert first["volume_skipped"] is None and first["by_type"].get("data_spike") == 1 and reads == [AS_OF]

    # a build that found only the audit tables changed, same project: nothing the checks read changed
    build("b2")
    second = check_and_notify(AS_OF)
    assert second["volume_skipped"] and "data_spike" not in second["by_type"] and reads == [AS_OF]
    assert spikes() == 1
    # no build at all since: skipped again
    assert check_and_notify(AS_OF)["volume_skipped"] and reads == [AS_OF]

    # each of these makes the next check read again (and find the same alert, recorded once)
    for name, kwargs in [("b3", {"changed": ("raw.app__events",)}), ("b4", {"full_refresh": True}),
                         ("b5", {"status": "failed"}), ("b6", {"state": {"model.meridian.stg_app__events": "a2"}})]:
        build(name, **kwargs)
        again = check_and_notify(AS_OF)
        assert again["volume_skipped"] is None and again["by_type"].get("data_spike") == 1, name
    assert len(reads) == 5 and spikes() == 1

    # after b6 (a success) the checks are current again; another day always reads
    build("b7", state={"model.meridian.stg_app__events": "a2"})
    assert check_and_notify(AS_OF)["volume_skipped"]
    assert check_and_notify(AS_OF + timedelta(days=1))["volume_skipped"] is None
    assert len(reads) == 6
