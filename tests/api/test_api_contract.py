"""The API's contract (docs/api.md): auth, the error envelope and 400s naming the parameter, 404s, ETag and
the cache per transform run, paging, rate limits, report jobs and the api-key command; on a real warehouse."""

from __future__ import annotations

import subprocess
import time
import uuid
from datetime import timedelta

import pytest

from meridian import db
from meridian.serve.api.routes import ENDPOINTS
from tests.api.conftest import auth

GET_PATHS = [f"/api/v1{e.path}" for e in ENDPOINTS if e.method == "GET" and "{" not in e.path]


def new_transform_run(as_of) -> None:
    """A successful transform run lands (what invalidates ETags and the cache)."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            "insert into audit.transform_runs (invocation_id, run_id, as_of_date, full_refresh, reason, "
            "late_arrival_days, status, ended_at) values (%s, 'api-test', %s, false, 'test', 3, 'success', "
            "clock_timestamp())", (f"api-test:{uuid.uuid4().hex[:12]}", as_of))


def test_every_endpoint_of_api_md_is_served():
    documented = {
        "/kpis/overview", "/kpis/active-users", "/kpis/retention", "/kpis/revenue", "/kpis/user-behavior",
        "/kpis/funnel", "/analytics/dashboard", "/analytics/revenue", "/analytics/cohorts", "/analytics/tournaments",
        "/analytics/dashboards/sales", "/analytics/dashboards/customer-success", "/analytics/dashboards/revenue",
        "/analytics/metrics/real-time", "/analytics/reports/generate", "/analytics/reports/{id}", "/payments/metrics",
        "/payments/realtime", "/payments/dashboard", "/payments/overview", "/payments/trends/today",
        "/payments/trends/week", "/payments/trends/month", "/payments/peak-times", "/payments/success-rate",
        "/payments/failures", "/payments/latency", "/payments/payment-methods", "/payments/webhook-metrics",
        "/payments/transactions", "/payments/top-resources", "/payments/revenue", "/payments/customers",
        "/payments/reports/monthly",
    }
    assert {endpoint.path for endpoint in ENDPOINTS} == documented


@pytest.mark.parametrize("path", GET_PATHS)
def test_every_endpoint_answers_a_tenant_key_in_the_envelope(client, api_world, path):
    response = client.get(path, headers=auth(api_world["keys"]["acme"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["as_of"] == api_world["as_of"].isoformat()
    assert set(body) == {"success", "data", "as_of", "cached", "generatedAt"}
    assert response.headers["ETag"]


@pytest.mark.parametrize("path", [*GET_PATHS, "/api/v1/analytics/reports/abc"])
@pytest.mark.parametrize("case", ["none", "malformed", "unknown", "wrong secret", "revoked"])
def test_no_wrong_or_revoked_key_is_401(client, api_world, path, case):
    key = api_world["keys"]["acme"]
    headers = {
        "none": {},
        "malformed": {"Authorization": "Bearer not-a-key"},
        "unknown": auth("mk_0123456789ab_" + "x" * 43),
        "wrong secret": auth(key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")),
        "revoked": auth(api_world["revoked"]),
    }[case]
    response = client.get(path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["success"] is False
    assert response.json()["error"]["parameter"] == "Authorization"
    assert "secret" not in response.text.lower() or case != "wrong secret"


def test_post_generate_needs_a_key(client):
    response = client.post("/api/v1/analytics/reports/generate", json={"report_type": "payments"})
    assert response.status_code == 401


def test_health_and_openapi_need_no_key(client, api_world):
    health = client.get("/api/v1/health")
    assert health.status_code == 200, health.text
    data = health.json()["data"]
    assert data["warehouse"] == "ok" and data["last_transform"]["as_of_date"] == api_world["as_of"].isoformat()
    assert {"entries", "bytes", "hit_rate"} <= set(data["cache"])
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/kpis/overview" in document.json()["paths"]


@pytest.mark.parametrize(("path", "query", "parameter"), [
    ("/payments/metrics", "from=2026-13-01", "from"),
    ("/payments/metrics", "from=yesterday", "from"),
    ("/payments/metrics", "to=2026-02-30", "to"),
    ("/payments/metrics", "from=2026-10-05&to=2026-10-01", "from"),
    ("/payments/metrics", "from=2000-01-01&to=2026-10-01", "from"),
    ("/payments/metrics", "startDate=2026-10-01&from=2026-10-01", "startDate"),
    ("/payments/metrics", "days=0", "days"),
    ("/payments/metrics", "days=ten", "days"),
    ("/payments/metrics", "days=7&from=2026-10-01", "days"),
    ("/payments/metrics", "colour=blue", "colour"),
    ("/payments/metrics", "days=7&days=8", "days"),
    ("/kpis/active-users", "granularity=minutely", "granularity"),
    ("/kpis/active-users", "granularity=hourly&range=30d", "range"),
    ("/kpis/retention", "cohortCount=25", "cohortCount"),
    ("/kpis/retention", "period=daily", "period"),
    ("/kpis/revenue", "timeframe=1y", "timeframe"),
    ("/kpis/user-behavior", "eventType=no_such_event", "eventType"),
    ("/kpis/user-behavior", "eventType=%27%3B%20drop", "eventType"),
    ("/kpis/funnel", "funnel=nope", "funnel"),
    ("/analytics/revenue", "periodType=decade", "periodType"),
    ("/analytics/revenue", "interval=hour", "interval"),
    ("/analytics/cohorts", "limit=1001", "limit"),
    ("/analytics/cohorts", "cursor=%21%21", "cursor"),
    ("/analytics/cohorts", "cursor=bm90LWpzb24", "cursor"),
    ("/payments/transactions", "groupBy=planet", "groupBy"),
    ("/payments/transactions", "groupBy=method&cursor=abc", "cursor"),
    ("/payments/top-resources", "month=2026-13", "month"),
    ("/payments/reports/monthly", "format=pdf", "format"),
    ("/payments/dashboard", "period=year", "period"),
])
def test_bad_input_is_a_400_naming_the_parameter(client, api_world, path, query, parameter):
    response = client.get(f"/api/v1{path}?{query}", headers=auth(api_world["keys"]["acme"]))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["parameter"] == parameter
    assert parameter in body["error"]["message"]


@pytest.mark.parametrize(("body", "parameter"), [
    ({"report_type": "payments", "start_date": "2026-10-01"}, "end_date"),
    ({"report_type": "nope", "start_date": "2026-10-01", "end_date": "2026-10-31"}, "report_type"),
    ({"report_type": "payments", "formats": ["doc"], "start_date": "2026-10-01", "end_date": "2026-10-31"}, "formats"),
    ({"report_type": "payments", "start_date": "2026-10-31", "end_date": "2026-10-01"}, "start_date"),
    ({"report_type": "payments", "start_date": "2026-10-01", "end_date": "2026-10-31", "email_to": ["x"]}, "email_to"),
    ({"report_type": "payments", "start_date": "2026-10-01", "end_date": "2026-10-31", "extra": 1}, "extra"),
    ([1, 2], "body"),
])
def test_bad_report_request_is_a_400_naming_the_field(client, api_world, body, parameter):
    response = client.post("/api/v1/analytics/reports/generate", json=body, headers=auth(api_world["keys"]["acme"]))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["parameter"] == parameter


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/nope", 404), ("GET", "/api/v2/kpis/overview", 404), ("GET", "/api/v1/payments/trends/year", 404),
    ("POST", "/api/v1/kpis/overview", 405), ("DELETE", "/api/v1/payments/metrics", 405),
])
def test_unknown_paths_and_methods_are_json_errors(client, method, path, status):
    response = client.request(method, path)
    assert response.status_code == status
    assert response.json()["success"] is False and path in response.json()["error"]["message"]


def test_etag_304_and_cache_are_exact_per_transform_run(client, api_world):
    headers = auth(api_world["keys"]["acme"])
    path = "/api/v1/payments/metrics?days=30"
    first = client.get(path, headers=headers)
    second = client.get(path, headers=headers)
    assert second.json()["cached"] is True and second.json()["data"] == first.json()["data"]
    assert second.headers["ETag"] == first.headers["ETag"]
    assert client.get(path, headers={**headers, "If-None-Match": first.headers["ETag"]}).status_code == 304
    # another tenant's request for the same path has its own ETag
    other = client.get(path, headers=auth(api_world["keys"]["globex"]))
    assert other.headers["ETag"] != first.headers["ETag"]
    new_transform_run(api_world["as_of"])
    third = client.get(path, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert third.status_code == 200 and third.json()["cached"] is False
    assert third.headers["ETag"] != first.headers["ETag"]
    assert client.get(path, headers=headers).json()["cached"] is True
    stats = client.get("/api/v1/health").json()["data"]["cache"]
    assert stats["hits"] >= 2 and stats["entries"] >= 1 and stats["bytes"] > 0


def test_transactions_pages_cover_the_ledger_once(client, api_world):
    headers = auth(api_world["keys"]["acme"])
    query = "from=2026-08-01&to=2026-10-31"
    whole = client.get(f"/api/v1/payments/transactions?{query}&limit=1000", headers=headers).json()["data"]
    assert whole["next_cursor"] is None and len(whole["transactions"]) > 10
    seen, cursor = [], None
    while True:
        page = client.get(f"/api/v1/payments/transactions?{query}&limit=7" + (f"&cursor={cursor}" if cursor else ""),
                          headers=headers).json()["data"]
        seen += [row["transaction_id"] for row in page["transactions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [row["transaction_id"] for row in whole["transactions"]] and len(set(seen)) == len(seen)
    grouped = client.get(f"/api/v1/payments/transactions?{query}&groupBy=status", headers=headers).json()["data"]
    metrics = client.get(f"/api/v1/payments/metrics?{query}", headers=headers).json()["data"]
    assert sum(group["payments"] for group in grouped["groups"]) == metrics["attempts"] > 0


def test_cohort_pages_cover_every_cohort_once(client, api_world):
    headers = auth(api_world["keys"]["acme"])
    whole = client.get("/api/v1/analytics/cohorts?grain=week", headers=headers).json()["data"]
    starts, cursor = [], None
    while True:
        page = client.get("/api/v1/analytics/cohorts?grain=week&limit=3" + (f"&cursor={cursor}" if cursor else ""),
                          headers=headers).json()["data"]
        starts += [cohort["cohort_start"] for cohort in page["cohorts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert starts == [cohort["cohort_start"] for cohort in whole["cohorts"]] and len(starts) > 3


def test_rate_limit_is_429_with_retry_after(api_world):
    from fastapi.testclient import TestClient

    from meridian.config import api_settings
    from meridian.serve.api import create_app
    from meridian.serve.api.service import ApiService

    settings = api_settings()
    limited = type(settings)(**{**settings.__dict__, "rate_limits": {**settings.rate_limits, "revenue": 3}})
    service = ApiService(limited, db.dsn("warehouse"))
    with TestClient(create_app(service)) as limited_client:
        headers = auth(api_world["keys"]["acme"])
        statuses = [limited_client.get("/api/v1/kpis/revenue", headers=headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        blocked = limited_client.get("/api/v1/analytics/revenue", headers=headers)
        assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert blocked.json()["error"]["message"].startswith("rate limit of 3 requests per minute")
        # other groups and other keys have their own budgets
        assert limited_client.get("/api/v1/payments/metrics", headers=headers).status_code == 200
        assert limited_client.get("/api/v1/kpis/revenue", headers=auth(api_world["keys"]["globex"])).status_code == 200
    service.pool.close()


def test_report_job_renders_and_gives_signed_expiring_links(client, api_world):
    headers = auth(api_world["keys"]["acme"])
    created = client.post("/api/v1/analytics/reports/generate", headers=headers, json={
        "report_type": "payments", "formats": ["csv", "html"], "start_date": "2026-10-01", "end_date": "2026-10-31"})
    assert created.status_code == 202, created.text
    job_id = created.json()["data"]["id"]
    assert client.get(f"/api/v1/analytics/reports/{job_id}", headers=auth(api_world["keys"]["globex"])).status_code == 404
    deadline = time.monotonic() + 60
    while True:
        status = client.get(f"/api/v1/analytics/reports/{job_id}", headers=headers).json()["data"]
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["status"] == "done", status
    links = {link["name"]: link for link in status["downloads"]}
    assert {name.rsplit(".", 1)[1] for name in links} == {"csv", "html"}
    csv_link = next(link for name, link in links.items() if name.endswith(".csv"))
    download = client.get(f"/api/v1/{csv_link['url']}")
    assert download.status_code == 200 and b"acme" in download.content and b"globex" not in download.content
    tampered = csv_link["url"].replace("signature=", "signature=0")[:-1]
    assert client.get(f"/api/v1/{tampered}").status_code == 403
    expired = csv_link["url"].split("?")[0] + "?expires=1&signature=" + "0" * 64
    assert client.get(f"/api/v1/{expired}").status_code == 403
    # another API process (a second worker, a restart) answers the status and serves the signed link
    from fastapi.testclient import TestClient

    from meridian.config import api_settings
    from meridian.serve.api import create_app
    from meridian.serve.api.service import ApiService

    other = ApiService(api_settings(), db.dsn("warehouse"))
    with TestClient(create_app(other)) as other_client:
        again = other_client.get(f"/api/v1/analytics/reports/{job_id}", headers=headers).json()["data"]
        assert again["status"] == "done" and {link["name"] for link in again["downloads"]} == set(links)
        assert other_client.get(f"/api/v1/{csv_link['url']}").content == download.content
    other.pool.close()


def test_api_key_command(api_world):
    def meridian(*args: str) -> subprocess.CompletedProcess:
        from meridian.airflow_env import venv_bin

        return subprocess.run([venv_bin("meridian"), "api-key", *args], capture_output=True, text=True, check=False)

    created = meridian("create", "--tenant", "globex", "--name", "cli test")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1].split()[-1]
    assert key.startswith("mk_")
    key_id = key.split("_")[1]
    listing = meridian("list", "--tenant", "globex")
    assert key_id in listing.stdout and key not in listing.stdout and "cli test" in listing.stdout
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select secret_sha256 from security.api_keys where key_id = %s", (key_id,))
        stored = cur.fetchone()[0]
    assert key.split("_", 2)[2] not in stored and len(stored) == 64
    assert meridian("revoke", key_id).returncode == 0
    assert "revoked" in meridian("list").stdout
    unknown = meridian("create", "--tenant", "initech")
    assert unknown.returncode == 2 and "unknown tenant 'initech'" in unknown.stderr and "acme" in unknown.stderr
    assert meridian("revoke", "ffffffffffff").returncode == 2


def test_api_queries_run_under_the_tenants_row_security(client, api_world, monkeypatch):
    """An endpoint query that forgets its tenant filter still sees only the key's tenant."""
    from meridian.serve.api import routes

    endpoint = next(e for e in routes.ENDPOINTS if e.path == "/payments/realtime")
    monkeypatch.setattr(endpoint.handler, "__code__", (lambda ctx: ctx.rows(
        "select distinct tenant_id from marts.fct_payment_attempts union "
        "select distinct tenant_id from marts.fct_daily_kpis")).__code__)
    new_transform_run(api_world["as_of"] + timedelta(days=0))
    for tenant, key in api_world["keys"].items():
        data = client.get("/api/v1/payments/realtime", headers=auth(key)).json()["data"]
        assert data == [{"tenant_id": tenant}]
    new_transform_run(api_world["as_of"])
