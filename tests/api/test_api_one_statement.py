"""The KPI and analytics endpoints answer with one statement per request (meridian.serve.api.batch), and the
answers are byte for byte those of the same queries run one by one (the values decoded from the statement's
JSON have the types psycopg2 gives for the columns: Decimals with their scale, ints, dates, instants)."""

from __future__ import annotations

import pytest

from meridian.devtools.bench_api import BENCH_PATHS
from tests.api.conftest import auth

FROM_TO = ("", "from=2026-08-01&to=2026-10-31", "from=2026-09-03&to=2026-09-17", "from=2026-10-31&to=2026-10-31",
           "from=2025-01-01&to=2025-02-01")
TIMEFRAMES = ("", "timeframe=7d", "timeframe=30d", "timeframe=90d", "timeframe=12m")
ONE_STATEMENT_PATHS = (
    "/kpis/overview", "/kpis/revenue", "/kpis/user-behavior", "/kpis/funnel", "/analytics/dashboard",
    "/analytics/revenue", "/analytics/cohorts", "/analytics/tournaments", "/analytics/dashboards/sales",
    "/analytics/dashboards/revenue", "/analytics/metrics/real-time",
)
# every endpoint the bench reads, the one-statement ones over several ranges and their other parameters
REQUESTS = tuple(dict.fromkeys(BENCH_PATHS + tuple(
    f"{path}?{span}" if span else path
    for path in ("/analytics/revenue", "/analytics/cohorts", "/analytics/tournaments", "/analytics/dashboards/sales",
                 "/analytics/dashboards/revenue", "/analytics/dashboards/customer-success")
    for span in FROM_TO) + tuple(
    f"{path}?{span}" if span else path
    for path in ("/kpis/revenue", "/kpis/user-behavior", "/kpis/funnel") for span in TIMEFRAMES) + (
    "/kpis/user-behavior?timeframe=30d&eventType=app_open", "/kpis/funnel?timeframe=90d&funnel=onboarding",
    "/analytics/revenue?periodType=day&from=2026-10-01&to=2026-10-20", "/analytics/revenue?periodType=week",
    "/analytics/revenue?periodType=quarter", "/analytics/revenue?periodType=year",
    "/analytics/cohorts?grain=week&limit=3", "/analytics/cohorts?grain=week&from=2026-09-01&to=2026-10-31&limit=2",
    "/analytics/tournaments?periodType=week&from=2026-09-01&to=2026-10-31",
    "/kpis/active-users?granularity=hourly&range=48h", "/kpis/retention?period=monthly&cohortCount=4",
)))
ERRORS = ("/kpis/user-behavior?eventType=no_such_type", "/kpis/funnel?funnel=no_such_funnel")


def body(client, key: str, path: str) -> tuple[int, bytes]:
    """The status and the answer without its generatedAt instant (the one part that differs between two calls)."""
    response = client.get(f"/api/v1{path}", headers=auth(key))
    content = response.content
    if response.status_code == 200:
        content = content.rsplit(b',"generatedAt":', 1)[0]
    return response.status_code, content


@pytest.fixture(scope="module")
def uncached(api_world):
    from fastapi.testclient import TestClient

    from meridian import db
    from meridian.config import api_settings
    from meridian.serve.api import create_app
    from meridian.serve.api.service import ApiService

    settings = api_settings()
    settings = type(settings)(**{**settings.__dict__, "cache": False,
                                 "rate_limits": {group: 0 for group in settings.rate_limits}})
    service = ApiService(settings, db.dsn("warehouse"))
    with TestClient(create_app(service)) as test_client:
        yield test_client
    service.pool.close()


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_one_statement_answers_as_the_queries_one_by_one(uncached, api_world, monkeypatch, tenant):
    from meridian.serve.api import batch

    key = api_world["keys"][tenant]
    together = {path: body(uncached, key, path) for path in REQUESTS + ERRORS}
    monkeypatch.setattr(batch, "ONE_STATEMENT", False)
    apart = {path: body(uncached, key, path) for path in REQUESTS + ERRORS}
    assert [path for path in REQUESTS if together[path][0] != 200] == []
    assert [path for path in ERRORS if together[path][0] != 400] == []
    differ = [path for path in together if together[path] != apart[path]]
    assert differ == [], [(path, together[path][1][:300], apart[path][1][:300]) for path in differ[:3]]


def test_each_request_runs_one_statement(api_world):
    from meridian.devtools.bench_dashboard import capture_statements

    key = api_world["keys"]["acme"]
    capture_statements(key, ONE_STATEMENT_PATHS)  # the first request of a query text also learns its columns
    statements = capture_statements(key, ONE_STATEMENT_PATHS)
    counts = {path: sum(statement.path == path for statement in statements) for path in ONE_STATEMENT_PATHS}
    assert counts == dict.fromkeys(ONE_STATEMENT_PATHS, 1)


def test_columns_learnt_before_a_mart_changed_are_learnt_again(uncached, api_world, monkeypatch):
    """A mart rebuilt with other columns outside a recorded run: the query runs on its own, the answer is right."""
    from meridian.serve.api import batch

    key = api_world["keys"]["acme"]
    paths = ("/kpis/overview", "/analytics/dashboards/revenue", "/kpis/revenue?timeframe=90d")
    with batch._lock:
        batch._columns.clear()  # then only these requests' queries are learnt
    expected = {path: body(uncached, key, path) for path in paths}
    with batch._lock:
        assert batch._columns
        stale = {sql: ((*columns, ("dropped_column", 25)) if "select *" in sql else columns[:-1] or columns)
                 for sql, columns in batch._columns.items()}
        batch._columns.update(stale)
    assert {path: body(uncached, key, path) for path in paths} == expected
    with batch._lock:
        assert not any(("dropped_column", 25) in columns for columns in batch._columns.values())
