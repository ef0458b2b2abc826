"""The main endpoints' numbers against the same figures computed independently in Python from the source
rows (tests/e2e/expected.py, the reference implementation of docs/metrics.md): MRR, active-user buckets,
retention, payment latency percentiles over a range."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.api.conftest import auth
from tests.e2e import expected, expected_revenue_dims, expected_sales_games
from tests.e2e.expected_calc import percentile_cont, period_start, rate

TENANTS = ("acme", "globex")


@pytest.fixture(scope="module")
def accepted(api_world):
    return expected.accepted_rows(api_world["sources"], api_world["file_lines"], api_world["as_of"],
                                  files_loaded_whole=True)


def get(client, api_world, tenant: str, path: str) -> dict:
    response = client.get(f"/api/v1{path}", headers=auth(api_world["keys"][tenant]))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def percent(numerator: int, denominator: int) -> float | None:
    share = rate(numerator, denominator)
    return None if share is None else float(share * 100)


@pytest.mark.parametrize("tenant", TENANTS)
def test_mrr_now_and_at_every_month_end(client, api_world, accepted, tenant):
    as_of = api_world["as_of"]
    calculator = expected.MrrCalculator(accepted)

    def mrr_at(instant) -> float:
        return float(sum(value for (owner, _), value in calculator.at(instant).items() if owner == tenant))

    now = mrr_at(expected.end_of_day(as_of))
    assert now > 0
    overview = get(client, api_world, tenant, "/kpis/overview")
    assert overview["today"]["mrr"] == pytest.approx(now, abs=0.005)
    assert overview["today"]["arr"] == pytest.approx(now * 12, abs=0.005)
    assert get(client, api_world, tenant, "/analytics/dashboard")["mrr"] == pytest.approx(now, abs=0.005)
    months = get(client, api_world, tenant, "/analytics/revenue?periodType=month&from=2026-01-01&to=2026-10-31")
    assert len(months["periods"]) >= 2
    for period in months["periods"]:
        start = date.fromisoformat(period["period_start"])
        assert period["mrr"] == pytest.approx(mrr_at(expected.month_end_instant(start, as_of)), abs=0.005), start


def _active_by(accepted, tenant: str, as_of: date, bucket) -> dict[date, set[str]]:
    users: dict[date, set[str]] = defaultdict(set)
    for event in accepted["events"]:
        if event["tenant_id"] == tenant and event["user_id"] is not None and event["occurred_at"] is not None \
                and event["occurred_at"] < expected.end_of_day(as_of):
            users[bucket(expected.utc_date(event["occurred_at"]))].add(event["user_id"])
    return users


def quarter_start(day: date) -> date:
    return period_start("quarter", day)


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize(("granularity", "span", "bucket"), [
    ("daily", "30d", lambda day: day),
    ("weekly", "12w", expected.week_start),
    ("monthly", "6m", expected.month_start),
    ("quarterly", "4q", quarter_start),
])
def test_active_user_buckets_are_distinct_users_per_period(client, api_world, accepted, tenant, granularity, span,
                                                           bucket):
    as_of = api_world["as_of"]
    truth = _active_by(accepted, tenant, as_of, bucket)
    data = get(client, api_world, tenant, f"/kpis/active-users?granularity={granularity}&range={span}")
    buckets = data["buckets"]
    assert buckets and buckets[-1]["period_start"] == bucket(as_of).isoformat()
    for item in buckets:
        assert item["active_users"] == len(truth.get(date.fromisoformat(item["period_start"]), ())), item
    values = [item["active_users"] for item in buckets]
    assert data["summary"]["peak"] == max(values)
    assert data["summary"]["average"] == pytest.approx(sum(values) / len(values), abs=0.005)
    if granularity != "daily":  # a longer period is not the sum of its days
        assert any(item["active_users"] > 0 for item in buckets)


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize(("period", "grain"), [("weekly", "week"), ("monthly", "month")])
def test_retention_cohorts(client, api_world, accepted, tenant, period, grain):
    truth = expected.retention_cohorts(accepted, api_world["as_of"])
    data = get(client, api_world, tenant, f"/kpis/retention?period={period}&cohortCount=24")
    assert data["cohorts"]
    checked = 0
    for cohort in data["cohorts"]:
        start = date.fromisoformat(cohort["cohort_start"])
        for item in cohort["periods"]:
            size, retained = truth[(tenant, grain, start, item["period"])]
            assert (cohort["cohort_size"], item["retained_users"]) == (size, retained), (start, item)
            assert item["retention_rate"] == percent(retained, size)
            checked += 1
    assert checked > 5
    for average in data["period_averages"]:
        rows = [truth[(tenant, grain, date.fromisoformat(c["cohort_start"]), average["period"])]
                for c in data["cohorts"] if any(p["period"] == average["period"] for p in c["periods"])]
        assert average["pooled_retention_rate"] == percent(sum(r for _, r in rows), sum(s for s, _ in rows))


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize(("first", "last"), [(date(2026, 8, 1), date(2026, 10, 31)), (date(2026, 10, 1), date(2026, 10, 15))])
def test_payment_latency_percentiles_from_payment_rows(client, api_world, accepted, tenant, first, last):
    as_of_end = expected.end_of_day(api_world["as_of"])
    in_range = [payment for payment in accepted["payments"]
                if payment["tenant_id"] == tenant and payment["created_at"] < as_of_end
                and first <= expected.utc_date(payment["created_at"]) <= last]
    latencies = [(p["settled_at"] - p["created_at"]).total_seconds() * 1000 for p in in_range
                 if p["status"] in ("succeeded", "refunded") and p["settled_at"] is not None]
    assert len(latencies) >= 3
    data = get(client, api_world, tenant, f"/payments/metrics?from={first}&to={last}")
    for key, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert data["latency_ms"][key] == pytest.approx(percentile_cont(latencies, fraction), abs=0.01), key
    succeeded = [p for p in in_range if p["status"] in ("succeeded", "refunded")]
    failed = [p for p in in_range if p["status"] == "failed"]
    assert (data["attempts"], data["succeeded"], data["failed"]) == (len(in_range), len(succeeded), len(failed))
    assert data["success_rate"] == pytest.approx(100 * len(succeeded) / (len(succeeded) + len(failed)), abs=0.005)
    assert data["volume"] == pytest.approx(sum(p["amount_cents"] for p in succeeded) / 100, abs=0.005)
    # never the average of the daily percentiles
    days = get(client, api_world, tenant, f"/payments/latency?from={first}&to={last}")["daily"]
    daily_p95 = [day["p95_ms"] for day in days if day["p95_ms"] is not None]
    assert data["latency_ms"]["p95"] != pytest.approx(sum(daily_p95) / len(daily_p95), abs=0.01)
    assert last - first < timedelta(days=100)


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("period_type", ["day", "week", "month", "quarter", "year"])
def test_mrr_movements_per_period(client, api_world, accepted, tenant, period_type):
    """Customer MRR at each period's end vs its start, classified as docs/metrics.md says (reactivation: MRR > 0 at
    a month end before the period)."""
    as_of = api_world["as_of"]
    calculator = expected.MrrCalculator(accepted)
    first = "2025-01-01" if period_type in ("month", "quarter", "year") else (as_of - timedelta(days=55)).isoformat()
    data = get(client, api_world, tenant, f"/analytics/revenue?periodType={period_type}&from={first}&to={as_of}")
    assert data["periods"]
    for period in data["periods"]:
        start = date.fromisoformat(period["period_start"])
        following = {"day": start + timedelta(days=1), "week": start + timedelta(days=7),
                     "month": expected.add_months(start, 1), "quarter": expected.add_months(start, 3),
                     "year": expected.add_months(start, 12)}[period_type]
        end = min(expected.start_of_day(following), expected.end_of_day(as_of))
        now, before = calculator.at(end), calculator.at(expected.start_of_day(start))
        month = expected.month_start(start)  # month ends before the period: the starts of its month and earlier
        earlier_month_ends = [expected.start_of_day(expected.add_months(month, -back)) for back in range(0, 40)]
        totals = dict.fromkeys(("new", "expansion", "reactivation", "contraction", "churn"), 0.0)
        for key in {*now, *before}:
            if key[0] != tenant:
                continue
            mrr, previous = now.get(key, 0), before.get(key, 0)
            paid_before = any(calculator.at(instant).get(key, 0) > 0 for instant in earlier_month_ends)
            movement = expected._movement(mrr, previous, paid_before)
            if movement in ("new", "reactivation"):
                totals[movement] += float(mrr)
            elif movement == "expansion":
                totals[movement] += float(mrr - previous)
            elif movement in ("contraction", "churn"):
                totals[movement] += float(previous - mrr)
        got = {"new": period["new_mrr"], "expansion": period["expansion_mrr"],
               "reactivation": period["reactivation_mrr"], "contraction": period["contraction_mrr"],
               "churn": period["churned_mrr"]}
        assert got == pytest.approx(totals, abs=0.005), start
    moved = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")
    assert any(period[column] for period in data["periods"] for column in moved)
    if period_type in ("month", "quarter", "year"):
        assert any(period["new_mrr"] for period in data["periods"])
    if period_type == "month":  # the same as the monthly revenue mart's bridge
        rows = get(client, api_world, tenant, "/analytics/dashboards/revenue?from=2025-01-01&to=2026-10-31")
        bridge = {row["revenue_month"]: row for row in rows["mrr_movements"]}
        for period in data["periods"]:
            month = bridge[period["period_start"]]
            assert (period["new_mrr"], period["churned_mrr"]) == (month["new_mrr"], month["churned_mrr"])


@pytest.mark.parametrize("tenant", TENANTS)
def test_revenue_dashboard_by_country_matches_python(client, api_world, accepted, tenant):
    """by_country sums the months of the range per country; by_country_monthly is the mart, row for row."""
    as_of = api_world["as_of"]
    wanted = {key: value for key, value in expected_revenue_dims.revenue_by_country_monthly(accepted, as_of).items()
              if key[0] == tenant}
    assert len({key[2] for key in wanted}) >= 2, "the dataset should have payers in several countries"
    data = get(client, api_world, tenant, f"/analytics/dashboards/revenue?from=2025-01-01&to={as_of.isoformat()}")
    monthly = {(tenant, date.fromisoformat(row["revenue_month"]), row["country"]): row
               for row in data["by_country_monthly"]}
    assert set(monthly) == set(wanted)
    for key, figures in wanted.items():
        got = monthly[key]
        assert got["gross_revenue"] == pytest.approx(float(figures["gross_revenue"]), abs=0.005), key
        assert got["net_revenue"] == pytest.approx(float(figures["net_revenue"]), abs=0.005), key
        assert (got["payments_succeeded"], got["unique_payers"]) == (figures["payments_succeeded"],
                                                                    figures["unique_payers"]), key
        share = figures["share_of_gross_rate"]
        assert got["share_of_gross_rate"] == (None if share is None else pytest.approx(float(share) * 100)), key
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, _, country), figures in wanted.items():
        totals[country] += figures["gross_revenue"]
    assert {row["country"]: row["gross_revenue"] for row in data["by_country"]} == pytest.approx(
        {country: float(value) for country, value in totals.items()}, abs=0.005)


@pytest.mark.parametrize("tenant", TENANTS)
def test_customer_success_dashboard_bands_and_churn_over_time(client, api_world, accepted, tenant):
    as_of = api_world["as_of"]
    wanted = {day: figures for (owner, day), figures in
              expected_sales_games.customer_health_daily(accepted, as_of).items() if owner == tenant}
    start = max(min(wanted), as_of - timedelta(days=89))
    data = get(client, api_world, tenant,
               f"/analytics/dashboards/customer-success?from={start.isoformat()}&to={as_of.isoformat()}")
    bands = data["health_bands_over_time"]
    assert [row["date"] for row in bands] == [day.isoformat() for day in sorted(wanted) if day >= start]
    for row in bands:
        figures = wanted[date.fromisoformat(row["date"])]
        names = ("total_customers", "customers_with_known_state", "healthy", "stable", "at_risk_band", "critical")
        assert {name: row[name] for name in names} == {name: figures[name] for name in names}, row["date"]
    assert any(row["healthy"] + row["stable"] + row["at_risk_band"] + row["critical"] for row in bands)
    months = data["churn_over_time"]
    assert [row["month"] for row in months] == sorted({day.replace(day=1).isoformat() for day in wanted
                                                       if day >= start})
    for month in months:
        first = date.fromisoformat(month["month"])
        through = min(as_of, expected.add_months(first, 1) - timedelta(days=1))  # the month's last day in range
        assert month["through"] == through.isoformat()
        assert month["churned_customers"] == wanted[through]["churned_this_month"], month


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("grain", ["week", "month"])
def test_cohort_benchmarks_and_each_cohort_against_them(client, api_world, accepted, tenant, grain):
    truth = expected.cohort_benchmarks(accepted, api_world["as_of"])
    data = get(client, api_world, tenant, f"/analytics/cohorts?grain={grain}&from=2025-01-01&to={api_world['as_of']}")
    benchmarks = {item["period"]: item for item in data["benchmarks"]}
    wanted = {n: value for (t, g, n), value in truth.items() if t == tenant and g == grain}
    assert sorted(benchmarks) == sorted(wanted) and any(value["cohorts"] >= 2 for value in wanted.values())

    def pct(value):
        return None if value is None else float(value * 100)

    for number, value in wanted.items():
        got = benchmarks[number]
        assert got["cohorts"] == value["cohorts"]
        for key in ("avg_retention_rate", "pooled_retention_rate", "median_retention_rate", "best_retention_rate",
                    "worst_retention_rate"):
            assert got[key] == pytest.approx(pct(value[key]), abs=0.005), (number, key)
        for key in ("best_cohort_start", "worst_cohort_start"):
            assert got[key] == (value[key].isoformat() if value[key] else None), (number, key)
        assert got["avg_ltv_to_date"] == pytest.approx(
            None if value["avg_cumulative_revenue_per_user"] is None else float(value["avg_cumulative_revenue_per_user"]),
            abs=0.005)
    compared = 0
    for cohort in data["cohorts"]:
        for item in cohort["periods"]:
            mean = pct(wanted[item["period"]]["avg_retention_rate"])
            if item["retention_rate"] is None:
                assert item["vs_benchmark_points"] is None
                continue
            assert item["vs_benchmark_points"] == pytest.approx(item["retention_rate"] - mean, abs=0.011)
            compared += 1
    assert compared > 3


@pytest.mark.parametrize("tenant", TENANTS)
def test_funnel_average_time_to_convert(client, api_world, accepted, tenant):
    as_of = api_world["as_of"]
    first = as_of - timedelta(days=89)  # timeframe=90d: the 90 days ending on the as-of date
    progress = expected.funnel_progress(accepted, as_of, expected.ONBOARDING)
    gaps: dict[int, list[float]] = defaultdict(list)
    monday = first - timedelta(days=first.weekday())
    for (owner, _user), reached in progress.items():
        if owner == tenant and monday <= expected.utc_date(reached[0]) <= as_of:
            for index in range(1, len(reached)):
                gaps[index + 1].append((reached[index] - reached[index - 1]).total_seconds())
    data = get(client, api_world, tenant, "/kpis/funnel?timeframe=90d")
    assert data["range"]["from"] == first.isoformat(), data["range"]
    steps = {step["step"]: step for step in data["steps"]}
    assert len(steps) == 8 and steps[4]["name"] == "First session"
    assert steps[1]["avg_seconds_to_convert"] is None
    assert gaps[4], "nobody reached first_session in the range"
    for number in range(2, 9):
        if gaps[number]:
            mean = sum(gaps[number]) / len(gaps[number])
            # the mart keeps each cohort week's mean to the hundredth: the weighted mean is within that
            assert steps[number]["avg_seconds_to_convert"] == pytest.approx(mean, abs=0.01), number
        else:
            assert steps[number]["avg_seconds_to_convert"] is None, number


@pytest.mark.parametrize("tenant", TENANTS)
def test_revenue_dashboard_carries_the_forecast(client, api_world, tenant):
    data = get(client, api_world, tenant, "/analytics/dashboards/revenue")
    assert len(data["forecast"]) == 6
    assert [row["months_ahead"] for row in data["forecast"]] == [1, 2, 3, 4, 5, 6]
