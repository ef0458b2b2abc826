"""End to end: the payments and product marts against the pure-Python reference.

The ``pipeline`` fixture (conftest.py) runs the real DAGs for an earlier day and
then the last generated day (the incremental marts are incremental on the first
run). Every row of fct_payments_hourly, fct_payment_failures_monthly,
fct_payment_retries_monthly, fct_event_counts_daily and
fct_webhook_deliveries_daily is computed again in ``expected_payments_product.py``
from the same source rows and event-file lines, and must match exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from tests.e2e import expected_payments_product as reference
from tests.e2e.conftest import mismatches, query

pytestmark = pytest.mark.e2e

Query = Callable[[str], list[dict]]


def _cents(value: float | None) -> Decimal | None:
    """A percentile_cont result as the mart stores it (numeric(14,2))."""
    return None if value is None else Decimal(str(round(value, 2)))


# The comparisons take the accepted rows, the as-of date and a query function, so they
# also run against a hand-built warehouse while developing (same accepted rows).


def payments_hourly_pair(accepted: dict, as_of: date, run_query: Query) -> tuple[dict, dict]:
    rows = run_query(
        "select tenant_id, hour_start, attempts, succeeded, failed, pending, revenue from marts.fct_payments_hourly"
    )
    actual = {
        (r["tenant_id"], r["hour_start"]): {
            "attempts": r["attempts"],
            "succeeded": r["succeeded"],
            "failed": r["failed"],
            "pending": r["pending"],
            "revenue": r["revenue"],
        }
        for r in rows
    }
    return reference.payments_hourly(accepted, as_of), actual


def payment_failures_pair(accepted: dict, as_of: date, run_query: Query) -> tuple[dict, dict]:
    rows = run_query(
        "select tenant_id, failure_month, failure_reason, failures, share_of_failures_rate "
        "from marts.fct_payment_failures_monthly"
    )
    actual = {
        (r["tenant_id"], r["failure_month"], r["failure_reason"]): (r["failures"], r["share_of_failures_rate"])
        for r in rows
    }
    return reference.payment_failures_monthly(accepted, as_of), actual


def payment_retries_pair(accepted: dict, as_of: date, run_query: Query) -> tuple[dict, dict]:
    columns = ("invoices", "invoices_with_failure", "recovered", "unrecovered", "recovery_rate", "avg_attempts")
    rows = run_query(f"select tenant_id, invoice_month, {', '.join(columns)} from marts.fct_payment_retries_monthly")
    actual = {(r["tenant_id"], r["invoice_month"]): {column: r[column] for column in columns} for r in rows}
    return reference.payment_retries_monthly(accepted, as_of), actual


def event_counts_pair(accepted: dict, as_of: date, run_query: Query) -> tuple[dict, dict]:
    rows = run_query(
        "select tenant_id, event_date, event_type, platform, events, unique_users from marts.fct_event_counts_daily"
    )
    actual = {
        (r["tenant_id"], r["event_date"], r["event_type"], r["platform"]): (r["events"], r["unique_users"])
        for r in rows
    }
    return reference.event_counts_daily(accepted, as_of), actual


def webhook_deliveries_pair(accepted: dict, as_of: date, run_query: Query) -> tuple[dict, dict]:
    columns = (
        "deliveries",
        "delivered",
        "failed",
        "pending",
        "success_rate",
        "avg_attempts",
        "avg_response_ms",
        "p95_response_ms",
    )
    rows = run_query(
        f"select tenant_id, delivery_date, event_type, {', '.join(columns)} from marts.fct_webhook_deliveries_daily"
    )
    actual = {(r["tenant_id"], r["delivery_date"], r["event_type"]): {c: r[c] for c in columns} for r in rows}
    wanted = reference.webhook_deliveries_daily(accepted, as_of)
    for values in wanted.values():
        values["p95_response_ms"] = _cents(values["p95_response_ms"])
    return wanted, actual


def test_payments_hourly(pipeline, accepted):
    wanted, actual = payments_hourly_pair(accepted, pipeline["as_of"], query)
    assert sum(v["failed"] for v in wanted.values()) > 0 and sum(v["revenue"] for v in wanted.values()) > 0
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_payment_failures_by_reason(pipeline, accepted):
    wanted, actual = payment_failures_pair(accepted, pipeline["as_of"], query)
    assert len({reason for _t, _m, reason in wanted}) > 1, wanted
    assert any(share is not None and 0 < share < 1 for _count, share in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_payment_retries_and_recovery(pipeline, accepted):
    wanted, actual = payment_retries_pair(accepted, pipeline["as_of"], query)
    assert any(v["invoices_with_failure"] > 0 for v in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_event_counts_by_type_and_platform(pipeline, accepted):
    wanted, actual = event_counts_pair(accepted, pipeline["as_of"], query)
    assert sum(events for events, _users in wanted.values()) > 10_000
    assert any(events == 0 for events, _users in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_webhook_deliveries(pipeline, accepted):
    wanted, actual = webhook_deliveries_pair(accepted, pipeline["as_of"], query)
    assert any(v["avg_attempts"] is not None and v["avg_attempts"] > 1 for v in wanted.values())
    assert any(v["p95_response_ms"] for v in wanted.values()) and any(v["deliveries"] == 0 for v in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)
