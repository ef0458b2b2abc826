"""Payments: success rate, revenue, attempts and latency, payment methods, failure reasons,
retries and recovery, the hourly peak, top resources and webhook deliveries.
"""

from __future__ import annotations

from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COUNT,
    KPI_TILES,
    MAX,
    METRIC_TABLE,
    MONEY,
    NUMBER,
    RATE,
    RATIO,
    TREND_CHART,
    WEIGHTED,
    Aggregate,
    Metric,
    ReportType,
    Section,
    share_of,
    summed,
    sums,
)
from meridian.reports.types.common import (
    COMMON_PARAMETERS,
    FRESHNESS,
    PAYMENT_FAILURES,
    PAYMENT_RETRIES,
    PAYMENTS_AND_PAYERS,
    PAYMENTS_DAILY,
    PAYMENTS_HOURLY,
    RESOURCE_REVENUE,
    WEBHOOK_DELIVERIES,
    by_hour_of_day,
)

SUCCESS_RATE = Metric("succeeded", "Success rate", RATE, agg=RATIO, over=("succeeded", "failed"), name="success_rate")
PAYMENT_REVENUE = Metric("revenue", "Revenue")
ATTEMPTS = Metric("attempts", "Attempts", COUNT)
LATENCY = Metric("latency_avg_ms", "Avg latency (ms)", NUMBER, False, agg=WEIGHTED, over=("succeeded",))

# the attempts of a group of payments and how they ended
PAYMENT_COUNTS = sums(COUNT, attempts="Attempts", succeeded="Succeeded", failed="Failed")

PAYMENT_SECTIONS = (
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=PAYMENTS_DAILY,
        metrics=(
            SUCCESS_RATE,
            PAYMENT_REVENUE,
            ATTEMPTS,
            Metric("succeeded", "Succeeded", COUNT),
            Metric("failed", "Failed", COUNT, higher_is_better=False),
            Metric("revenue", "Avg value", MONEY, agg=RATIO, over=("succeeded",), name="avg_value"),
            LATENCY,
            Metric("latency_p95_ms", "Worst daily p95 latency (ms)", NUMBER, False, agg=MAX),
        ),
    ),
    Section(
        key="revenue_trend", title="Payment revenue trend", kind=TREND_CHART, source=PAYMENTS_DAILY,
        metrics=(Metric("revenue", "Revenue"),),
    ),
    Section(
        key="methods", title="Payments by method", kind=BREAKDOWN_TABLE, source=PAYMENTS_DAILY,
        group_by="method", group_label="Method",
        aggregates=(
            *PAYMENT_COUNTS,
            Aggregate("success_rate", "Success rate", RATIO, "succeeded", RATE, over=("succeeded", "failed")),
            summed("revenue", "Revenue", MONEY),
        ),
        order_by="revenue", total_label="Total",
    ),
    Section(
        key="failure_reasons", title="Failure reasons", kind=BREAKDOWN_TABLE, source=PAYMENT_FAILURES,
        group_by="failure_reason", group_label="Failure reason",
        aggregates=(
            summed("failures", "Failures", COUNT),
            share_of("failures", "Share of failures"),
        ),
        order_by="failures", total_label="Total", bars="failures",
    ),
    Section(
        key="retries", title="Retries and recovery", kind=METRIC_TABLE, source=PAYMENT_RETRIES,
        metrics=(
            Metric("invoices", "Invoices", COUNT),
            Metric("invoices_with_failure", "Invoices with a failure", COUNT, higher_is_better=False),
            Metric("recovered", "Recovered", COUNT),
            Metric("unrecovered", "Unrecovered", COUNT, higher_is_better=False),
            Metric("recovery_rate", "Recovery rate", RATE),
            Metric("avg_attempts", "Attempts per invoice", NUMBER, higher_is_better=None),
        ),
    ),
    by_hour_of_day(
        "hourly_peak", "Payments by hour of day (UTC)", PAYMENTS_HOURLY,
        (*PAYMENT_COUNTS, summed("revenue", "Revenue", MONEY)), bars="attempts",
    ),
    Section(
        key="top_resources", title="Top resources", kind=BREAKDOWN_TABLE, source=RESOURCE_REVENUE,
        group_by="resource", group_label="Resource",
        aggregates=(summed("revenue", "Revenue", MONEY), *PAYMENTS_AND_PAYERS),
        order_by="revenue", limit=10, bars="revenue",
    ),
    Section(
        key="webhooks", title="Webhook deliveries", kind=BREAKDOWN_TABLE, source=WEBHOOK_DELIVERIES,
        group_by="event_type", group_label="Event type",
        aggregates=(
            *sums(COUNT, deliveries="Deliveries", delivered="Delivered", failed="Failed", pending="Pending"),
            Aggregate("success_rate", "Success rate", RATIO, "delivered", RATE, over=("delivered", "failed")),
            Aggregate("avg_response_ms", "Avg response (ms)", WEIGHTED, "avg_response_ms", NUMBER, ("deliveries",)),
        ),
        order_by="deliveries", total_label="Total",
        description="Success rate = delivered / (delivered + failed); pending deliveries are left out.",
    ),
)


PAYMENTS = ReportType(
    name="payments", title="Payments", grain="day",
    description="Payment success, revenue and latency, failures, retries, peak hours, resources and webhooks.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS, sections=PAYMENT_SECTIONS,
)
