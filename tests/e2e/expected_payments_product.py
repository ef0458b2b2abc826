"""Pure-Python reference computations of the payments and product marts that
``expected.py`` does not cover: fct_payments_hourly, fct_payment_failures_monthly,
fct_payment_retries_monthly, fct_event_counts_daily and fct_webhook_deliveries_daily.

Like ``expected.py``, nothing here is shared with the dbt models: every figure is
computed from the accepted source rows (``expected.accepted_rows``) by reading
docs/metrics.md literally, with the readings below where the contract leaves room (the
dbt models document the same choices).

1.  Only activity that happened by the end of the as-of date counts: payments and
    webhook deliveries by ``created_at``, events by ``occurred_at``.
2.  Rows over the covered range (``expected.covered_ranges``): every UTC hour of every
    covered day (payments hourly), every covered month (failures, retries), every
    covered day (event counts, webhooks). Category keys get rows only for the
    categories the tenant has by as-of: failure reasons of its failed attempts, (event
    type, platform) combinations of its events, webhook event types of its
    deliveries. A null failure_reason or platform is keyed ``'(none)'``.
3.  Payments are counted at their attempt (``created_at``): succeeded = status
    ``succeeded`` or ``refunded``; revenue = their amounts, cents / 100.
4.  Invoices are the payments sharing (tenant_id, invoice_id); a payment without
    invoice_id is not one. Attempts are ordered by (attempt_number, created_at, id);
    the first one's created_at month is the invoice month. Recovered: a succeeded
    attempt after the first failed one. unrecovered = invoices_with_failure − recovered.
    avg_attempts = attempts / invoices, rounded to 2 places.
5.  Webhooks: delivery_date = UTC date of created_at; success_rate = delivered /
    (delivered + failed); response averages and p95 (``percentile_cont``) over the
    deliveries with a response_ms. A type's series starts at the earlier of the
    tenant's covered start and the type's first delivery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.e2e.expected import (
    SUCCEEDED_PAYMENT,
    Accepted,
    Row,
    _days,
    covered_ranges,
    end_of_day,
    start_of_day,
    utc_date,
)
from tests.e2e.expected_calc import cents_to_units, month_start, percentile_cont, periods, rate

NO_VALUE = "(none)"


def _hour_start(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def _visible(rows: Iterable[Row], column: str, as_of: date) -> list[Row]:
    end = end_of_day(as_of)
    return [row for row in rows if row[column] is not None and row[column] < end]


# --------------------------------------------------------------------------- payments


def payments_hourly(accepted: Accepted, as_of: date) -> dict[tuple[str, datetime], dict[str, Any]]:
    """{(tenant_id, hour_start): {attempts, succeeded, failed, pending, revenue}} over every covered hour."""
    out: dict[tuple[str, datetime], dict[str, Any]] = {}
    cents: dict[tuple[str, datetime], int] = defaultdict(int)
    for tenant, (first, last) in covered_ranges(accepted, as_of).items():
        for day in _days(first, last):
            for hour in range(24):
                out[(tenant, start_of_day(day) + timedelta(hours=hour))] = {
                    "attempts": 0,
                    "succeeded": 0,
                    "failed": 0,
                    "pending": 0,
                    "revenue": Decimal("0.00"),
                }
    for payment in _visible(accepted.get("payments", ()), "created_at", as_of):
        key = (payment["tenant_id"], _hour_start(payment["created_at"]))
        if key not in out:
            continue
        values = out[key]
        values["attempts"] += 1
        if payment["status"] in SUCCEEDED_PAYMENT:
            values["succeeded"] += 1
            cents[key] += payment["amount_cents"]
        elif payment["status"] == "failed":
            values["failed"] += 1
        elif payment["status"] == "pending":
            values["pending"] += 1
    for key, total in cents.items():
        out[key]["revenue"] = cents_to_units(total)
    return out


def payment_failures_monthly(
    accepted: Accepted, as_of: date
) -> dict[tuple[str, date, str], tuple[int, Decimal | None]]:
    """{(tenant_id, failure_month, failure_reason): (failures, share_of_failures_rate)}."""
    failures: dict[tuple[str, date, str], int] = defaultdict(int)
    reasons: dict[str, set[str]] = defaultdict(set)
    for payment in _visible(accepted.get("payments", ()), "created_at", as_of):
        if payment["status"] != "failed":
            continue
        reason = payment["failure_reason"] if payment["failure_reason"] is not None else NO_VALUE
        reasons[payment["tenant_id"]].add(reason)
        failures[(payment["tenant_id"], month_start(utc_date(payment["created_at"])), reason)] += 1
    out = {}
    for tenant, (first, last) in covered_ranges(accepted, as_of).items():
        for month, _ in periods("month", first, last):
            total = sum(failures.get((tenant, month, reason), 0) for reason in reasons[tenant])
            for reason in reasons[tenant]:
                count = failures.get((tenant, month, reason), 0)
                out[(tenant, month, reason)] = (count, rate(count, total))
    return out


def invoices(accepted: Accepted, as_of: date) -> dict[tuple[str, str], dict[str, Any]]:
    """{(tenant_id, invoice_id): {invoice_month, attempts, has_failure, is_recovered}}."""
    attempts: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for payment in _visible(accepted.get("payments", ()), "created_at", as_of):
        if payment["invoice_id"] is not None:
            attempts[(payment["tenant_id"], payment["invoice_id"])].append(payment)
    out = {}
    for key, rows in attempts.items():
        rows.sort(key=lambda p: (p["attempt_number"], p["created_at"], p["id"]))
        statuses = [p["status"] for p in rows]
        first_failure = statuses.index("failed") if "failed" in statuses else None
        out[key] = {
            "invoice_month": month_start(utc_date(rows[0]["created_at"])),
            "attempts": len(rows),
            "has_failure": first_failure is not None,
            "is_recovered": first_failure is not None
            and any(status in SUCCEEDED_PAYMENT for status in statuses[first_failure + 1 :]),
        }
    return out


def payment_retries_monthly(accepted: Accepted, as_of: date) -> dict[tuple[str, date], dict[str, Any]]:
    """{(tenant_id, invoice_month): {invoices, invoices_with_failure, recovered, unrecovered, recovery_rate,
    avg_attempts}} over every covered month."""
    by_month: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    for (tenant, _invoice), invoice in invoices(accepted, as_of).items():
        by_month[(tenant, invoice["invoice_month"])].append(invoice)
    out = {}
    for tenant, (first, last) in covered_ranges(accepted, as_of).items():
        for month, _ in periods("month", first, last):
            month_invoices = by_month.get((tenant, month), [])
            with_failure = sum(invoice["has_failure"] for invoice in month_invoices)
            recovered = sum(invoice["is_recovered"] for invoice in month_invoices)
            out[(tenant, month)] = {
                "invoices": len(month_invoices),
                "invoices_with_failure": with_failure,
                "recovered": recovered,
                "unrecovered": with_failure - recovered,
                "recovery_rate": rate(recovered, with_failure),
                "avg_attempts": rate(sum(invoice["attempts"] for invoice in month_invoices), len(month_invoices), 2),
            }
    return out


# --------------------------------------------------------------------------- events


def event_counts_daily(accepted: Accepted, as_of: date) -> dict[tuple[str, date, str, str], tuple[int, int]]:
    """{(tenant_id, event_date, event_type, platform): (events, unique_users)} over every covered day and every
    (event_type, platform) combination of the tenant."""
    events: dict[tuple[str, date, str, str], int] = defaultdict(int)
    users: dict[tuple[str, date, str, str], set[str]] = defaultdict(set)
    combinations: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for event in _visible(accepted.get("events", ()), "occurred_at", as_of):
        platform = event["platform"] if event["platform"] is not None else NO_VALUE
        key = (event["tenant_id"], utc_date(event["occurred_at"]), event["event_type"], platform)
        combinations[event["tenant_id"]].add((event["event_type"], platform))
        events[key] += 1
        if event["user_id"] is not None:
            users[key].add(event["user_id"])
    out = {}
    for tenant, (first, last) in covered_ranges(accepted, as_of).items():
        for day in _days(first, last):
            for event_type, platform in combinations[tenant]:
                key = (tenant, day, event_type, platform)
                out[key] = (events.get(key, 0), len(users.get(key, ())))
    return out


# --------------------------------------------------------------------------- webhooks


def webhook_deliveries_daily(accepted: Accepted, as_of: date) -> dict[tuple[str, date, str], dict[str, Any]]:
    """{(tenant_id, delivery_date, event_type): {deliveries, delivered, failed, pending, success_rate, avg_attempts,
    avg_response_ms, p95_response_ms}}; p95 is the unrounded percentile_cont (compare after rounding to 2 places)."""
    groups: dict[tuple[str, date, str], list[Row]] = defaultdict(list)
    first_delivery: dict[tuple[str, str], date] = {}
    for delivery in _visible(accepted.get("webhook_deliveries", ()), "created_at", as_of):
        day = utc_date(delivery["created_at"])
        groups[(delivery["tenant_id"], day, delivery["event_type"])].append(delivery)
        series = (delivery["tenant_id"], delivery["event_type"])
        first_delivery[series] = min(day, first_delivery.get(series, day))
    covered = covered_ranges(accepted, as_of)
    out = {}
    for (tenant, event_type), first in first_delivery.items():
        start = min(first, covered[tenant][0]) if tenant in covered else first
        for day in _days(start, as_of):
            rows = groups.get((tenant, day, event_type), [])
            statuses = [row["status"] for row in rows]
            delivered, failed = statuses.count("delivered"), statuses.count("failed")
            responses = [row["response_ms"] for row in rows if row["response_ms"] is not None]
            out[(tenant, day, event_type)] = {
                "deliveries": len(rows),
                "delivered": delivered,
                "failed": failed,
                "pending": statuses.count("pending"),
                "success_rate": rate(delivered, delivered + failed),
                "avg_attempts": rate(sum(row["attempts"] for row in rows), len(rows), 2),
                "avg_response_ms": rate(sum(responses), len(responses), 2),
                "p95_response_ms": percentile_cont(responses, 0.95),
            }
    return out
