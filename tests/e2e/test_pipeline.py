"""End to end: the real DAGs on generated data, checked against an independent Python computation.

The ``pipeline`` fixture (conftest.py) generates a small dataset and runs
``airflow dags test extract_sources`` and ``transform_warehouse`` for an
earlier day and then the last generated day. Every figure below is computed
again in ``expected.py`` from the same source rows and event-file lines,
without SQL, and must match the marts exactly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e import expected
from tests.e2e.conftest import LATE_ARRIVAL_DAYS, keyed, mismatches, query, run_dag, snapshot_schema

pytestmark = pytest.mark.e2e

COHORT_KEY = ("tenant_id", "cohort_grain", "cohort_start", "period_number")
FUNNEL_STEP_KEY = ("tenant_id", "funnel_name", "cohort_week", "step_number")


def test_the_dataset_is_not_trivial(pipeline, accepted):
    assert len(accepted["events"]) > 10_000
    assert len(accepted["payments"]) > 100
    assert query("select count(*) as n from marts.fct_daily_kpis")[0]["n"] > 100


def test_daily_active_users_and_new_users(pipeline, accepted):
    as_of = pipeline["as_of"]
    rows = query("select tenant_id, kpi_date, active_users, new_users from marts.fct_daily_kpis")
    actual_dau = {(r["tenant_id"], r["kpi_date"]): r["active_users"] for r in rows}
    actual_new = {(r["tenant_id"], r["kpi_date"]): r["new_users"] for r in rows}
    expected_dau = expected.daily_active_users(accepted, as_of)
    expected_new = expected.new_users(accepted, as_of)
    assert sum(expected_dau.values()) > 0 and sum(expected_new.values()) > 0
    assert not mismatches(expected_dau, actual_dau), mismatches(expected_dau, actual_dau)
    assert not mismatches(expected_new, actual_new), mismatches(expected_new, actual_new)


def test_mrr_movements(pipeline, accepted):
    rows = query("select tenant_id, revenue_month, user_id, mrr, previous_mrr, movement from marts.fct_mrr_movements")
    actual = {
        (r["tenant_id"], r["revenue_month"], r["user_id"]): (r["mrr"], r["previous_mrr"], r["movement"]) for r in rows
    }
    wanted = expected.mrr_movements(accepted, pipeline["as_of"])
    movements = {value[2] for value in wanted.values()}
    assert {"new", "churn"} <= movements, movements
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_monthly_revenue_bridge_matches_the_movements(pipeline, accepted):
    wanted = expected.mrr_movements(accepted, pipeline["as_of"])
    ending: dict = {}
    for (tenant, month, _user), (mrr, _previous, _movement) in wanted.items():
        ending[(tenant, month)] = ending.get((tenant, month), Decimal("0")) + mrr
    rows = query("select tenant_id, revenue_month, ending_mrr from marts.fct_monthly_revenue")
    actual = {(r["tenant_id"], r["revenue_month"]): r["ending_mrr"] for r in rows if r["ending_mrr"] != 0}
    assert not mismatches(ending, actual), mismatches(ending, actual)


# marts compared key by key with expected.py: (the query, its key columns, the compared column(s),
# the expected figures from the accepted rows and as_of, a check that they are not trivial, what it means)
KEYED_MARTS = {
    "retention_cohort_sizes_and_retained_users": (
        "select tenant_id, cohort_grain, cohort_start, period_number, cohort_size, retained_users "
        "from marts.fct_retention_cohorts",
        COHORT_KEY, ("cohort_size", "retained_users"), expected.retention_cohorts,
        lambda wanted: any(size > 0 and retained > 0 for size, retained in wanted.values()), "no user retained",
    ),
    "onboarding_funnel_counts": (
        "select tenant_id, funnel_name, cohort_week, step_number, entities_reached from marts.fct_funnel_steps "
        "where funnel_name = 'onboarding'",
        FUNNEL_STEP_KEY, "entities_reached",
        lambda accepted, as_of: expected.funnel_counts(accepted, as_of, funnels=(expected.ONBOARDING,)),
        lambda wanted: any(step == 8 and count > 0 for (_t, _f, _w, step), count in wanted.items()),
        "nobody reached the last step",
    ),
    "onboarding_funnel_average_seconds": (
        "select tenant_id, funnel_name, cohort_week, step_number, avg_seconds_from_previous "
        "from marts.fct_funnel_steps where funnel_name = 'onboarding' and avg_seconds_from_previous is not null",
        FUNNEL_STEP_KEY, "avg_seconds_from_previous",
        lambda accepted, as_of: expected.funnel_avg_seconds(accepted, as_of, funnels=(expected.ONBOARDING,)),
        lambda wanted: any(step == 4 for (_t, _f, _w, step) in wanted), "nobody reached first_session",
    ),
    "retention_cohort_matches_per_user": (
        "select tenant_id, cohort_grain, cohort_start, period_number, avg_matches_per_user "
        "from marts.fct_retention_cohorts",
        COHORT_KEY, "avg_matches_per_user", expected.retention_matches,
        lambda wanted: any(value for value in wanted.values()), "no cohort has matches",
    ),
}


@pytest.mark.parametrize("case", KEYED_MARTS)
def test_keyed_mart(pipeline, accepted, case):
    sql, key, columns, expected_figures, not_trivial, trivial_means = KEYED_MARTS[case]
    actual = keyed(query(sql), key, columns)
    wanted = expected_figures(accepted, pipeline["as_of"])
    assert not_trivial(wanted), trivial_means
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_cohort_benchmarks(pipeline, accepted):
    rows = query("select * from marts.fct_cohort_benchmarks")
    actual = {
        (r["tenant_id"], r["cohort_grain"], r["period_number"]): {
            column: r[column] for column in r if column not in ("tenant_id", "cohort_grain", "period_number")
        }
        for r in rows
    }
    wanted = expected.cohort_benchmarks(accepted, pipeline["as_of"])
    assert any(value["cohorts"] >= 3 for key, value in wanted.items() if key[1] == "month")
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_payment_success_rate_and_latency(pipeline, accepted):
    rows = query(
        "select tenant_id, payment_date, method, attempts, succeeded, failed, pending, success_rate, latency_p95_ms "
        "from marts.fct_payments_daily"
    )
    actual = {
        (r["tenant_id"], r["payment_date"], r["method"]): {
            "attempts": r["attempts"], "succeeded": r["succeeded"], "failed": r["failed"], "pending": r["pending"],
            "success_rate": r["success_rate"], "latency_p95_ms": r["latency_p95_ms"],
        }
        for r in rows
    }
    wanted = expected.payments_daily(accepted, pipeline["as_of"])
    for values in wanted.values():
        p95 = values["latency_p95_ms"]
        values["latency_p95_ms"] = None if p95 is None else Decimal(str(round(p95, 2)))
    for values in actual.values():
        p95 = values["latency_p95_ms"]
        values["latency_p95_ms"] = None if p95 is None else Decimal(p95).quantize(Decimal("0.01"))
    assert any(v["failed"] > 0 for v in wanted.values()) and any(v["latency_p95_ms"] for v in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_every_batch_adds_up(pipeline):
    batches = query("select * from audit.batches order by batch_id")
    assert batches, "no batches recorded"
    broken = [b for b in batches if b["landed"] != b["accepted"] + b["quarantined"] + b["duplicates"]]
    assert not broken, broken[:5]
    assert sum(b["quarantined"] for b in batches) > 0
    assert sum(b["duplicates"] for b in batches) > 0
    files = [b for b in batches if b["table_name"] == "event_files"]
    assert files and all(b["file_name"] for b in files)


def test_quarantine_holds_every_reason_code(pipeline):
    rows = query("select distinct unnest(reasons) as reason from audit.quarantine")
    reasons = {r["reason"] for r in rows}
    assert reasons >= {
        "unknown_tenant", "missing_required", "future_timestamp", "implausible_timestamp", "invalid_enum",
        "negative_amount", "currency_mismatch", "invalid_json", "orphan_reference",
    }, reasons
    bad_lines = query(
        "select record from audit.quarantine where table_name = 'event_files' and record ? 'line_number' limit 1"
    )
    assert bad_lines and {"file", "line_number", "line"} <= set(bad_lines[0]["record"])


def test_quarantine_matches_the_reference_validation(pipeline):
    result = expected.validate(pipeline["sources"], pipeline["file_lines"], pipeline["as_of"],
                               files_loaded_whole=True)
    rows = query("select table_name, count(*) as n from audit.quarantine group by 1")
    actual = {r["table_name"]: r["n"] for r in rows}
    wanted: dict[str, int] = {}
    for item in result.quarantined:
        name = "event_files" if item.table == "event_files" else item.table
        wanted[name] = wanted.get(name, 0) + 1
    if "events" in wanted or "event_files" in wanted:  # db and file events may be reported under either name
        actual_events = actual.pop("events", 0) + actual.pop("event_files", 0)
        wanted_events = wanted.pop("events", 0) + wanted.pop("event_files", 0)
        assert actual_events == wanted_events
    assert actual == wanted


def test_rerun_of_the_same_day_leaves_every_mart_identical(pipeline):
    as_of = pipeline["as_of"]
    for dag_id in ("extract_sources", "transform_warehouse"):
        run_dag(dag_id, as_of, pipeline["env"], pipeline["log_dir"])
    assert snapshot_schema("marts") == pipeline["marts"]


def test_the_second_run_was_incremental_with_a_widened_lookback(pipeline):
    runs = pipeline["transform_runs"]
    assert [run["status"] for run in runs] == ["success"] * len(runs)
    first, second, rebuild = runs[:3]
    assert first["full_refresh"] and first["as_of_date"] == pipeline["earlier"]
    assert not second["full_refresh"] and second["as_of_date"] == pipeline["as_of"]
    # the days skipped between the two runs widen the lookback
    skipped = (pipeline["as_of"] - pipeline["earlier"]).days - 1
    assert second["late_arrival_days"] == LATE_ARRIVAL_DAYS + skipped
    assert rebuild["full_refresh"] and "requested" in rebuild["reason"]


def test_an_event_arriving_two_days_late_is_counted_by_the_next_run(pipeline):
    late = pipeline["late"]
    received = late["event"]["received_at"].date()
    assert (received - late["day"]).days == 2
    assert late["active_users_after"] == late["active_users_before"] + 1
    session = query(
        "select events from marts.fct_sessions where tenant_id = %s and user_id = %s and started_at = %s",
        (late["tenant_id"], late["event"]["user_id"], late["event"]["occurred_at"]),
    )
    assert session == [{"events": 1}]


def test_the_incremental_run_gives_the_same_marts_as_a_full_refresh(pipeline):
    incremental, full = pipeline["marts_incremental"], pipeline["marts"]
    assert set(incremental) == set(full)
    different = [name for name in full if incremental[name] != full[name]]
    assert not different, f"marts that differ between the incremental run and a full refresh: {different}"
