"""The payment endpoints answer with one statement per request (meridian.serve.api.one_pass), and the figures of
that statement equal the same figures computed in Python from the range's payment rows of fct_payment_attempts
(exact percentile_cont, distinct payers, failure reasons, retries per invoice)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest

from meridian import db
from meridian.devtools.bench_api import BENCH_PATHS
from tests.api.conftest import auth
from tests.api.test_api_known_values import percentile_cont

TENANTS = ("acme", "globex")
WIDEST = (date(2026, 8, 1), date(2026, 10, 31))  # the test data's whole history (tests/api/build.py)
PAYMENT_PATHS = tuple(path for path in BENCH_PATHS if path.startswith("/payments/")) + (
    "/payments/trends/today", "/payments/trends/month", "/payments/dashboard?period=month",
    "/payments/transactions?groupBy=country&days=90", "/payments/peak-times?days=7")


def get(client, api_world, tenant: str, path: str) -> dict:
    response = client.get(f"/api/v1{path}", headers=auth(api_world["keys"][tenant]))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def payment_rows(tenant: str, first: date, last: date) -> list[dict]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select method, status, is_succeeded, amount, user_id, latency_ms, failure_reason, invoice_id, "
                    "created_at from marts.fct_payment_attempts where tenant_id = %s", (tenant,))
        names = [column.name for column in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return [row for row in rows if first <= row["created_at"].astimezone(UTC).date() <= last]


def share(numerator, denominator) -> float | None:
    return round(100 * float(numerator) / float(denominator), 2) if denominator else None


def expected_summary(rows: list[dict]) -> dict:
    succeeded = [row for row in rows if row["is_succeeded"]]
    failed = sum(row["status"] == "failed" for row in rows)
    volume = sum((row["amount"] for row in succeeded), Decimal(0))
    latencies = [float(row["latency_ms"]) for row in rows if row["latency_ms"] is not None]
    return {
        "attempts": len(rows), "succeeded": len(succeeded), "failed": failed,
        "pending": sum(row["status"] == "pending" for row in rows),
        "success_rate": share(len(succeeded), len(succeeded) + failed), "volume": round(float(volume), 2),
        "avg_value": round(float(volume) / len(succeeded), 2) if succeeded else None,
        "unique_payers": len({row["user_id"] for row in succeeded}),
        "latency_ms": {"avg": statistics.fmean(latencies) if latencies else None,
                       **{key: percentile_cont(latencies, fraction)
                          for key, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}},
    }


def assert_summary(got: dict, want: dict) -> None:
    for key, value in want.items():
        if key == "latency_ms":
            for name, figure in value.items():
                assert got[key][name] == (None if figure is None else pytest.approx(figure, abs=0.01)), name
        else:
            assert got[key] == value, key


def expected_retries(rows: list[dict]) -> dict:
    invoices = defaultdict(list)
    for row in rows:
        if row["invoice_id"] is not None:
            invoices[row["invoice_id"]].append(row)
    failed = [attempts for attempts in invoices.values() if any(a["status"] == "failed" for a in attempts)]
    recovered = sum(any(a["is_succeeded"] for a in attempts) for attempts in failed)
    return {"invoices": len(invoices), "invoices_retried": sum(len(a) > 1 for a in invoices.values()),
            "invoices_with_failure": len(failed), "recovered": recovered, "unrecovered": len(failed) - recovered,
            "recovery_rate": share(recovered, len(failed))}


@pytest.mark.parametrize("tenant", TENANTS)
def test_each_payment_endpoint_runs_one_statement(api_world, tenant):
    from meridian.devtools.bench_dashboard import capture_statements

    statements = capture_statements(api_world["keys"][tenant], PAYMENT_PATHS)
    per_path = Counter(statement.path for statement in statements)
    assert {path: per_path[path] for path in PAYMENT_PATHS} == dict.fromkeys(PAYMENT_PATHS, 1)


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize(("first", "last"), [WIDEST, (date(2026, 10, 1), date(2026, 10, 15))])
def test_range_figures_from_the_payment_rows(client, api_world, tenant, first, last):
    rows = payment_rows(tenant, first, last)
    query = f"from={first}&to={last}"
    metrics = get(client, api_world, tenant, f"/payments/metrics?{query}")
    assert_summary(metrics, expected_summary(rows))

    methods = sorted({row["method"] for row in rows})
    volumes = {method: sum((r["amount"] for r in rows if r["method"] == method and r["is_succeeded"]), Decimal(0))
               for method in methods}
    assert [item["method"] for item in metrics["by_method"]] == methods
    for item in metrics["by_method"]:
        assert_summary(item, expected_summary([row for row in rows if row["method"] == item["method"]]))
        assert item["share_of_volume"] == share(volumes[item["method"]], sum(volumes.values()))

    reasons = Counter(row["failure_reason"] or "(none)" for row in rows if row["status"] == "failed")
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    assert [(item["failure_reason"], item["failures"]) for item in metrics["failure_reasons"]] == ordered
    assert [item["share"] for item in metrics["failure_reasons"]] == [share(n, sum(reasons.values()))
                                                                      for _, n in ordered]

    retries = expected_retries(rows)
    assert {key: metrics["retries"][key] for key in retries} == retries
    failures = get(client, api_world, tenant, f"/payments/failures?{query}")
    assert (failures["failures"], failures["by_reason"]) == (sum(reasons.values()), metrics["failure_reasons"])
    assert failures["retries"] == metrics["retries"]

    latency = get(client, api_world, tenant, f"/payments/latency?{query}")
    assert latency["latency_ms"] == metrics["latency_ms"]
    # its own statement (latency columns only): every method of the range, with the same figures as /metrics
    assert latency["by_method"] == [{"method": row["method"], "latency_ms": row["latency_ms"]}
                                    for row in metrics["by_method"]]
    by_day = defaultdict(list)
    for row in rows:
        by_day[row["created_at"].astimezone(UTC).date().isoformat()].append(row)
    assert [day["payment_date"] for day in latency["daily"]] == sorted(by_day)
    for day in latency["daily"]:
        settled = [float(row["latency_ms"]) for row in by_day[day["payment_date"]] if row["latency_ms"] is not None]
        assert day["settled"] == len(settled)
        for key, fraction in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
            want = percentile_cont(settled, fraction)
            assert day[key] == (None if want is None else pytest.approx(want, abs=0.01)), (day["payment_date"], key)

    rate = get(client, api_world, tenant, f"/payments/success-rate?{query}")
    assert (rate["attempts"], rate["success_rate"]) == (metrics["attempts"], metrics["success_rate"])
    # its own statement (counts only): the same counts as /metrics, overall and per method
    assert [rate[key] for key in ("succeeded", "failed", "pending")] == [metrics[key] for key in
                                                                          ("succeeded", "failed", "pending")]
    assert rate["by_method"] == [{"method": row["method"], "success_rate": row["success_rate"],
                                  "attempts": row["attempts"]} for row in metrics["by_method"]]
    assert sum(day["attempts"] for day in rate["daily"]) == len(rows)
    assert get(client, api_world, tenant, f"/payments/payment-methods?{query}")["methods"] == metrics["by_method"]


def test_the_data_has_failures_and_retries_to_compare(client, api_world):
    """The comparisons above are not vacuous: acme's widest range has failures of several reasons and retries."""
    rows = payment_rows("acme", *WIDEST)
    assert len({row["failure_reason"] for row in rows if row["status"] == "failed"}) >= 2
    assert expected_retries(rows)["invoices_retried"] > 0
    assert expected_retries(rows)["invoices_with_failure"] > 0
    assert len({row["method"] for row in rows}) >= 2


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("period", ["today", "week", "month"])
def test_trends_compare_two_spans_of_payment_rows(client, api_world, tenant, period):
    data = get(client, api_world, tenant, f"/payments/trends/{period}")
    spans = {name: (date.fromisoformat(data[f"{name}_range"]["from"]), date.fromisoformat(data[f"{name}_range"]["to"]))
             for name in ("current", "previous")}
    assert spans["previous"][1] + timedelta(days=1) == spans["current"][0]
    figures = {name: expected_summary(payment_rows(tenant, *span)) for name, span in spans.items()}
    for key in ("attempts", "succeeded", "failed", "success_rate", "volume", "avg_value", "unique_payers"):
        assert (data["metrics"][key]["current"], data["metrics"][key]["previous"]) == (
            figures["current"][key], figures["previous"][key]), key
    for name in ("current", "previous"):
        want = figures[name]["latency_ms"]["p95"]
        assert data["latency_p95_ms"][name] == (None if want is None else pytest.approx(want, abs=0.01)), name
    if period == "month":
        assert figures["current"]["attempts"] and figures["previous"]["attempts"]
