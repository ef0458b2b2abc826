"""Data-quality alerts against a real PostgreSQL: every alert type provoked by a small crafted input.

A private embedded warehouse gets the audit tables (bootstrap) and, shaped by
hand, the relations the checks read: ``staging.stg_app__events``,
``staging.stg_billing__payments`` and ``audit.batch_outcomes`` (dbt builds
them in the pipeline). The dbt artifacts are real: run_results.json of a
``dbt build --select dim_tenants assert_daily_revenue_sums_to_monthly`` whose
singular test failed, and sources.json of a ``dbt source freshness`` with one
source stale enough to warn and two to error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg2.extras
import pytest

from meridian import db
from meridian.quality.checks import (
    MIN_HISTORY_DAYS,
    event_alerts,
    payment_alerts,
    quarantine_alerts,
    run_data_quality_checks,
    volume_alerts,
)
from meridian.quality.dbt_results import (
    alerts_from_freshness,
    alerts_from_run_results,
    freshness_sources,
    record_dbt_artifact,
    record_run_results,
)
from meridian.warehouse.alerts import record_alert
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

FIXTURES = Path(__file__).parent / "quality_fixtures"
AS_OF = date(2026, 10, 31)
# a steady tenant: 20 events a day with a weekly wobble (mean 20, sd ~1.5)
STEADY = [20, 22, 19, 18, 21, 20, 20]


def create_checked_tables(conn) -> None:
    """The staging tables and batch outcomes the checks read, empty."""
    with conn.cursor() as cur:
        cur.execute("create table staging.stg_app__events "
                    "(id text, tenant_id text, event_type text, occurred_at timestamptz)")
        cur.execute("create table staging.stg_billing__payments (id text, tenant_id text, created_at timestamptz)")
        cur.execute("""create table audit.batch_outcomes (batch_id bigint, source text, table_name text,
                       as_of_date date, landed integer, accepted integer, quarantined integer,
                       duplicates integer, classified integer)""")


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-quality-test-", ensure_warehouse, create_checked_tables) as base:
        yield base


@pytest.fixture
def conn(warehouse: Path):
    """A connection on emptied tables; rolled back and closed after the test."""
    connection = db.connect("warehouse")
    with connection.cursor() as cur:
        cur.execute("truncate staging.stg_app__events, staging.stg_billing__payments, audit.batch_outcomes, "
                    "audit.data_quality_alerts, audit.dbt_node_results")
    connection.commit()
    yield connection
    connection.rollback()
    connection.close()


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def add_events(conn, tenant: str, counts: dict[date, int], event_type: str = "app_open") -> None:
    rows = [(f"{tenant}-{day}-{event_type}-{n}", tenant, event_type, at(day, n % 24))
            for day, count in counts.items() for n in range(count)]
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, "insert into staging.stg_app__events values %s", rows)


def add_payments(conn, tenant: str, counts: dict[date, int]) -> None:
    rows = [(f"{tenant}-{day}-{n}", tenant, at(day, n % 24)) for day, count in counts.items() for n in range(count)]
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, "insert into staging.stg_billing__payments values %s", rows)


def steady_history(days: int = 28, as_of: date = AS_OF) -> dict[date, int]:
    """``days`` days before as_of with the STEADY pattern (mean 20)."""
    return {as_of - timedelta(days=offset): STEADY[offset % 7] for offset in range(1, days + 1)}


def alert_rows(conn) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute("""select alert_type, severity, table_name, column_name, tenant_id, as_of_date, threshold,
                              actual_value, dedup_key, message from audit.data_quality_alerts order by alert_id""")
        names = [column.name for column in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# --- volume and missing data ---------------------------------------------------------------------------------------

def test_spike_in_events_raises_data_spike(conn) -> None:
    add_events(conn, "acme", {**steady_history(), AS_OF: 60})
    add_events(conn, "globex", {**steady_history(), AS_OF: 21})  # within mean ± 3 sd: no alert
    run_data_quality_checks(conn, AS_OF)
    rows = alert_rows(conn)
    assert [(r["alert_type"], r["severity"], r["tenant_id"], r["table_name"]) for r in rows] == [
        ("data_spike", "medium", "acme", "staging.stg_app__events")]
    spike = rows[0]
    assert float(spike["actual_value"]) == 60
    # mean 20.0, sample sd of the 28 STEADY days ≈ 1.36 → bound ≈ 24.1
    assert 23 < float(spike["threshold"]) < 25
    assert spike["dedup_key"] == "data_spike:2026-10-31:acme:events"


def test_drop_in_events_raises_data_drop(conn) -> None:
    add_events(conn, "acme", {**steady_history(), AS_OF: 3})
    alerts = event_alerts(conn, AS_OF)
    assert [(a.alert_type, a.severity, a.tenant_id, a.actual_value) for a in alerts] == [
        ("data_drop", "high", "acme", 3)]


def test_payment_volume_spike_and_drop(conn) -> None:
    add_payments(conn, "acme", {**steady_history(), AS_OF: 45})
    add_payments(conn, "globex", {**steady_history(), AS_OF: 2})
    alerts = payment_alerts(conn, AS_OF)
    assert sorted((a.alert_type, a.tenant_id, a.table_name, a.dedup_key) for a in alerts) == [
        ("data_drop", "globex", "staging.stg_billing__payments", "data_drop:2026-10-31:globex:payments"),
        ("data_spike", "acme", "staging.stg_billing__payments", "data_spike:2026-10-31:acme:payments"),
    ]


def test_no_events_on_the_day_raises_missing_data(conn) -> None:
    # events on D-3 only within the week before: missing_data, but too little history for the 3-sd rule
    add_events(conn, "acme", {AS_OF - timedelta(days=3): 5})
    # events only 8 days before: not "the week before", nothing raised
    add_events(conn, "globex", {AS_OF - timedelta(days=8): 5})
    run_data_quality_checks(conn, AS_OF)
    rows = alert_rows(conn)
    assert [(r["alert_type"], r["severity"], r["tenant_id"]) for r in rows] == [("missing_data", "high", "acme")]
    assert rows[0]["dedup_key"] == "missing_data:2026-10-31:acme:events"
    assert "no accepted events on 2026-10-31" in rows[0]["message"]


def test_missing_day_with_long_history_raises_missing_data_and_data_drop(conn) -> None:
    add_events(conn, "acme", steady_history())
    alerts = event_alerts(conn, AS_OF)
    assert sorted(a.alert_type for a in alerts) == ["data_drop", "missing_data"]


def test_short_or_flat_history_is_not_judged() -> None:
    short = {"acme": {**steady_history(MIN_HISTORY_DAYS - 1), AS_OF: 500}}
    assert volume_alerts(short, AS_OF, metric="events", table_name="t") == []
    enough = {"acme": {**steady_history(MIN_HISTORY_DAYS), AS_OF: 500}}
    assert [a.alert_type for a in volume_alerts(enough, AS_OF, metric="events", table_name="t")] == ["data_spike"]
    flat = {"acme": {**{AS_OF - timedelta(days=n): 20 for n in range(1, 29)}, AS_OF: 500}}
    assert volume_alerts(flat, AS_OF, metric="events", table_name="t") == []
    tiny = {"acme": {**{AS_OF - timedelta(days=n): n % 2 for n in range(1, 29)}, AS_OF: 9}}
    assert volume_alerts(tiny, AS_OF, metric="payments", table_name="t") == []  # mean 0.5 < 5 a day


def test_events_outside_the_window_are_ignored(conn) -> None:
    # a huge day 29 days back is outside D-28 .. D-1 and must not inflate the history
    add_events(conn, "acme", {**steady_history(), AS_OF - timedelta(days=29): 500, AS_OF: 20})
    assert event_alerts(conn, AS_OF) == []


# --- new event types and quarantine --------------------------------------------------------------------------------

def test_unknown_event_type_raises_new_event_type_once_ever(conn) -> None:
    add_events(conn, "acme", {AS_OF - timedelta(days=2): 3, AS_OF: 4}, event_type="story_view")
    add_events(conn, "globex", {AS_OF: 2}, event_type="story_view")
    add_events(conn, "acme", {AS_OF: 5}, event_type="app_open")
    run_data_quality_checks(conn, AS_OF)
    run_data_quality_checks(conn, AS_OF + timedelta(days=1))  # seen again the next day: no second row
    rows = [r for r in alert_rows(conn) if r["alert_type"] == "new_event_type"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["severity"], row["column_name"], row["dedup_key"], float(row["actual_value"])) == (
        "low", "event_type", "new_event_type:story_view", 9)
    assert "'story_view'" in row["message"] and "acme, globex" in row["message"]


def test_each_new_event_type_is_its_own_low_alert_naming_it(conn) -> None:
    add_events(conn, "acme", {AS_OF: 2}, event_type="story_view")
    run_data_quality_checks(conn, AS_OF)
    # the next day a second unknown type appears: one more alert, for it alone
    add_events(conn, "acme", {AS_OF + timedelta(days=1): 3}, event_type="voice_note")
    add_events(conn, "globex", {AS_OF + timedelta(days=1): 1}, event_type="story_view")
    run_data_quality_checks(conn, AS_OF + timedelta(days=1))
    rows = sorted((r for r in alert_rows(conn) if r["alert_type"] == "new_event_type"), key=lambda r: r["dedup_key"])
    assert [(r["dedup_key"], r["severity"]) for r in rows] == [
        ("new_event_type:story_view", "low"), ("new_event_type:voice_note", "low")]
    assert "'story_view'" in rows[0]["message"] and "'voice_note'" in rows[1]["message"]
    assert "story_view" not in rows[1]["message"]


def test_quarantine_share_above_threshold(conn) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "insert into audit.batch_outcomes values (%s, %s, %s, %s, %s, %s, %s, 0, %s)",
            [
                (1, "billing", "payments", AS_OF, 60, 57, 3, 60),          # 3 of 100 on D: 3% > 2%
                (2, "billing", "payments", AS_OF, 40, 40, 0, 40),
                (3, "app", "users", AS_OF, 100, 99, 1, 100),              # 1%: fine
                (4, "crm", "leads", AS_OF - timedelta(days=1), 10, 5, 5, 10),  # another as-of date
            ],
        )
    alerts = quarantine_alerts(conn, AS_OF, threshold=0.02)
    assert [(a.alert_type, a.severity, a.table_name, a.actual_value, a.threshold, a.dedup_key) for a in alerts] == [
        ("quarantine", "high", "raw.billing__payments", 0.03, 0.02, "quarantine:2026-10-31:raw.billing__payments")]
    assert "3 of 100 rows" in alerts[0].message and "2 batches" in alerts[0].message
    assert quarantine_alerts(conn, AS_OF, threshold=0.05) == []


def test_quarantine_threshold_from_settings(conn, monkeypatch: pytest.MonkeyPatch) -> None:
    with conn.cursor() as cur:
        cur.execute("insert into audit.batch_outcomes values (1, 'app', 'users', %s, 100, 99, 1, 0, 100)", (AS_OF,))
    monkeypatch.setenv("MERIDIAN_QUARANTINE_ALERT_RATE", "0.005")
    assert [a.table_name for a in quarantine_alerts(conn, AS_OF)] == ["raw.app__users"]
    monkeypatch.setenv("MERIDIAN_QUARANTINE_ALERT_RATE", "0.02")
    assert quarantine_alerts(conn, AS_OF) == []


def test_checks_rerun_records_nothing_twice(conn) -> None:
    add_events(conn, "acme", {**steady_history(), AS_OF: 60})
    with conn.cursor() as cur:
        cur.execute("insert into audit.batch_outcomes values (1, 'crm', 'leads', %s, 10, 5, 5, 0, 10)", (AS_OF,))
    first = run_data_quality_checks(conn, AS_OF)
    second = run_data_quality_checks(conn, AS_OF)
    assert first == second and len(first) == 2
    assert len(alert_rows(conn)) == 2


# --- dbt artifacts -------------------------------------------------------------------------------------------------

def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_run_results_load_into_dbt_node_results_once_per_invocation(conn) -> None:
    run_results = load("run_results_build_one_failing_test.json")
    summary = record_run_results(conn, run_results, run_id="manual__2026-10-31", as_of=AS_OF, command="build")
    again = record_run_results(conn, run_results, run_id="manual__2026-10-31", as_of=AS_OF, command="build")
    assert summary == again
    assert summary["nodes"] == 5 and summary["statuses"] == {"fail": 1, "pass": 3, "success": 1}
    with conn.cursor() as cur:
        cur.execute("""select node, resource_type, status, rows_affected, failures, message, as_of_date, run_id,
                              execution_seconds > 0
                       from audit.dbt_node_results order by node""")
        rows = cur.fetchall()
    assert len(rows) == 5
    by_node = {row[0]: row for row in rows}
    failed = by_node["test.meridian.assert_daily_revenue_sums_to_monthly"]
    assert failed[1:7] == ("test", "fail", None, 1, "Got 1 result, configured to fail if != 0", AS_OF)
    model = by_node["model.meridian.dim_tenants"]
    assert model[1:5] == ("model", "success", 2, None)
    assert by_node["unit_test.meridian.dim_tenants.dim_tenants_coverage_and_totals"][1:3] == ("unit_test", "pass")
    assert all(row[7] == "manual__2026-10-31" and row[8] for row in rows)


def test_failed_singular_test_raises_critical_test_failure(conn) -> None:
    run_results = load("run_results_build_one_failing_test.json")
    alerts = alerts_from_run_results(run_results, AS_OF)
    assert [(a.alert_type, a.severity, a.actual_value) for a in alerts] == [("test_failure", "critical", 1.0)]
    assert "assert_daily_revenue_sums_to_monthly" in alerts[0].message
    for alert in alerts + alerts:  # raised twice (a retried task): one row
        record_alert(conn, alert)
    assert [(r["alert_type"], r["severity"]) for r in alert_rows(conn)] == [("test_failure", "critical")]


def test_test_failure_severity_by_node_and_test_type() -> None:
    run_results = load("run_results_build_one_failing_test.json")
    results = {r["unique_id"].split(".")[2]: r for r in run_results["results"]}
    results["unique_combination_of_columns_dim_tenants_tenant_id"]["status"] = "fail"   # grain → critical
    results["not_null_dim_tenants_tenant_id"]["status"] = "warn"                        # warn → medium
    results["dim_tenants"]["status"] = "error"                                          # model error → high
    results["assert_daily_revenue_sums_to_monthly"]["status"] = "pass"
    severities = {a.message.split(":")[0]: a.severity for a in alerts_from_run_results(run_results, AS_OF)}
    assert severities == {
        "dbt test unique_combination_of_columns_dim_tenants_tenant_id": "critical",
        "dbt test not_null_dim_tenants_tenant_id": "medium",
        "dbt model dim_tenants": "high",
    }
    tables = {a.table_name for a in alerts_from_run_results(run_results, AS_OF)}
    assert tables == {"marts.dim_tenants"}


def test_stale_sources_raise_freshness_alerts(conn) -> None:
    sources = load("sources_freshness_warn_error.json")
    # dbt leaves sources whose freshness query failed out of sources.json: named as expected, they are runtime errors
    missing = "source.meridian.raw.games__tournament_entries"
    alerts = alerts_from_freshness(sources, AS_OF, expected_sources=[missing])
    found = {(a.table_name, a.severity, a.threshold) for a in alerts}
    assert found == {
        ("raw.app__users", "medium", 30.0),
        ("raw.billing__payments", "high", 54.0),
        ("raw.crm__leads", "high", 54.0),
        ("raw.games__tournament_entries", "high", None),
    }
    users = next(a for a in alerts if a.table_name == "raw.app__users")
    assert 30 < users.actual_value < 54 and "warn after 30 h" in users.message
    for alert in alerts:
        record_alert(conn, alert)
    assert sorted(r["alert_type"] for r in alert_rows(conn)) == ["freshness"] * 4

    summary = record_run_results(conn, sources, run_id="r1", as_of=AS_OF, command="source freshness",
                                 expected_sources=[missing])
    assert summary["statuses"] == {"pass": 12, "warn": 1, "error": 2, "runtime error": 1}
    with conn.cursor() as cur:
        cur.execute("select status, message from audit.dbt_node_results where node = %s", (missing,))
        status, message = cur.fetchone()
    assert status == "runtime error" and "could not be measured" in message


def test_freshness_sources_from_manifest() -> None:
    manifest = {"sources": {
        "source.p.raw.a": {"freshness": {"warn_after": {"count": 30, "period": "hour"}, "error_after": {}}},
        "source.p.raw.b": {"freshness": {"warn_after": {"count": None, "period": None}, "error_after": None}},
    }}
    assert freshness_sources(manifest) == ["source.p.raw.a"]


def test_record_dbt_artifact_records_nodes_and_alerts_once(conn) -> None:
    path = FIXTURES / "run_results_build_one_failing_test.json"
    first = record_dbt_artifact(path, run_id="r1", as_of=AS_OF, command="build")
    second = record_dbt_artifact(path, run_id="r1", as_of=AS_OF, command="build")
    assert (first["nodes"], first["alerts"], first["new_alerts"]) == (5, 1, 1)
    assert (second["nodes"], second["alerts"], second["new_alerts"]) == (5, 1, 0)
    assert [r["alert_type"] for r in alert_rows(conn)] == ["test_failure"]
