"""Source freshness measured in the transform run (meridian.transform.freshness), on a real PostgreSQL.

The stale-source alerts must keep working without ``dbt source freshness``: the
sources' own queries, judged by their thresholds, give the same statuses and
the same ``freshness`` alerts (warn → medium, error → high, a query that fails
→ high, naming the source and the database's message).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from meridian import db
from meridian.quality.dbt_results import alerts_from_freshness, record_run_results
from meridian.transform.freshness import freshness_query, judge, measure_freshness
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

LIMITS = {"warn_after": {"count": 30, "period": "hour"}, "error_after": {"count": 54, "period": "hour"}, "filter": None}
NO_LIMITS = {"warn_after": {"count": None, "period": None}, "error_after": {"count": None, "period": None}}


def source(table: str, *, query: str | None = None, field: str | None = None, freshness: dict = LIMITS,
           relation: str | None = None) -> tuple[str, dict]:
    unique_id = f"source.meridian.raw.{table}"
    return unique_id, {
        "relation_name": relation or f'"warehouse"."raw"."{table}"',
        "loaded_at_field": field,
        "loaded_at_query": query,
        "freshness": freshness,
        "config": {"freshness": freshness, "loaded_at_query": query, "loaded_at_field": field},
    }


def batches_query(table: str) -> str:
    return f"select max(loaded_at) from audit.batches where source = 'app' and table_name = '{table}' and landed > 0"


def add_loads(conn) -> None:
    """App batches landed hours ago, and a raw table whose freshness is its own loaded_at field."""
    with conn.cursor() as cur:
        for table, hours_ago, landed in (("fresh", 10, 5), ("late", 40, 5), ("gone", 60, 5),
                                         ("fresh", 2, 0)):  # a batch with nothing landed does not count
            cur.execute(
                "insert into audit.batches (source, table_name, as_of_date, window_end, landed, loaded_at) "
                "values ('app', %s, current_date, now(), %s, now() - %s * interval '1 hour')",
                (table, landed, hours_ago))
        cur.execute("create table raw.by_field (loaded timestamptz)")
        cur.execute("insert into raw.by_field values (now() - interval '31 hours'), "
                    "(now() - interval '100 hours')")


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-freshness-test-", ensure_warehouse, add_loads) as base:
        yield base


def test_statuses_and_alerts_match_the_thresholds(warehouse) -> None:
    manifest = {"sources": dict([
        source("fresh", query=batches_query("fresh")),
        source("late", query=batches_query("late")),
        source("gone", query=batches_query("gone")),
        source("never", query=batches_query("never")),
        source("by_field", field="loaded"),
        source("broken", query="select max(loaded_at) from audit.no_such_table"),
        source("unmeasured", query=batches_query("fresh"), freshness=NO_LIMITS),
    ])}
    with db.connection("warehouse") as conn:
        sources = measure_freshness(conn, manifest)
    by_table = {result["unique_id"].rsplit(".", 1)[1]: result for result in sources["results"]}
    assert {table: result["status"] for table, result in by_table.items()} == {
        "fresh": "pass", "late": "warn", "gone": "error", "never": "error", "by_field": "warn",
        "broken": "runtime error",
    }
    assert 9.9 < by_table["fresh"]["max_loaded_at_time_ago_in_s"] / 3600 < 10.5  # the batch that landed rows
    assert "no_such_table" in by_table["broken"]["error"] and "source.meridian.raw.broken" in by_table["broken"]["error"]

    alerts = alerts_from_freshness(sources, date(2026, 10, 31))
    assert {(alert.table_name, alert.severity) for alert in alerts} == {
        ("raw.late", "medium"), ("raw.gone", "high"), ("raw.never", "high"), ("raw.by_field", "medium"),
        ("raw.broken", "high"),
    }
    late = next(alert for alert in alerts if alert.table_name == "raw.late")
    assert 39.9 < late.actual_value < 40.5 and "warn after 30 h" in late.message

    # the same rows in audit.dbt_node_results as dbt's own sources.json gave
    with db.connection("warehouse") as conn:
        summary = record_run_results(conn, sources, run_id="r1", as_of=date(2026, 10, 31), command="source freshness")
    assert summary["statuses"] == {"pass": 1, "warn": 2, "error": 2, "runtime error": 1}


def test_a_failed_query_does_not_stop_the_others(warehouse) -> None:
    manifest = {"sources": dict([
        source("a_broken", query="select 1 / 0"),
        source("fresh", query=batches_query("fresh")),
    ])}
    with db.connection("warehouse") as conn:
        results = measure_freshness(conn, manifest)["results"]
    assert [result["status"] for result in results] == ["runtime error", "pass"]


def test_query_and_judgement() -> None:
    _, by_field = source("t", field="_loaded_at", freshness={**LIMITS, "filter": "tenant_id <> 'x'"})
    assert freshness_query(by_field) == \
        'select max(_loaded_at) as max_loaded_at from "warehouse"."raw"."t" where tenant_id <> \'x\''
    assert freshness_query(source("t")[1]) is None
    assert judge(30 * 3600, LIMITS) == "pass"
    assert judge(30 * 3600 + 1, LIMITS) == "warn"
    assert judge(54 * 3600 + 1, LIMITS) == "error"
    assert judge(None, LIMITS) == "error"
