"""What the report types share: the marts they read, the common parameters, the freshness check.

A :class:`~meridian.reports.model.Source` per mart (docs/metrics.md names), so
the report types name a mart once and sections sharing a mart share its read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COHORT,
    COUNT,
    DAY,
    FORECAST,
    HOUR,
    HOUR_OF_DAY,
    MONTH,
    PERIOD_TYPED,
    WEEK_COHORT,
    Aggregate,
    FreshnessCheck,
    Parameter,
    Section,
    Source,
    sums,
)


def int_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


def _currency_code(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value)):
        return None
    return "must be a three-letter ISO 4217 code such as EUR"


CSV_LAYOUTS = ("long", "zip")


def _csv_layout(value: Any) -> str | None:
    return None if value in CSV_LAYOUTS else "must be 'long' (one file) or 'zip' (one CSV per section in a zip)"


COMMON_PARAMETERS = (
    Parameter(
        "currency",
        None,
        "ISO code the tenant's money must be in: checked against marts.dim_tenants.currency (the report shows "
        "the tenant's currency), used only while that table has no row for the tenant",
        _currency_code,
    ),
    Parameter(
        "trend_periods",
        None,
        "points of every trend chart (default 30 days, 12 weeks or 12 months)",
        int_between(3, 60),
    ),
    Parameter("csv_layout", "long", "csv format: 'long' (one tidy file) or 'zip' (one CSV per section)", _csv_layout),
)

# --- the marts (docs/metrics.md names) ---------------------------------------------------------------

DAILY_KPIS = Source("marts.fct_daily_kpis", "kpi_date", DAY)
HOURLY_ACTIVITY = Source("marts.fct_hourly_activity", "hour_start", HOUR)
EVENT_COUNTS = Source("marts.fct_event_counts_daily", "event_date", DAY)
RETENTION_COHORTS = Source("marts.fct_retention_cohorts", "cohort_start", COHORT)
ONBOARDING_FUNNEL = Source("marts.fct_funnel_steps", "cohort_week", WEEK_COHORT, (("funnel_name", "onboarding"),))
SALES_FUNNEL = Source("marts.fct_funnel_steps", "cohort_week", WEEK_COHORT, (("funnel_name", "sales"),))
MONTHLY_REVENUE = Source("marts.fct_monthly_revenue", "revenue_month", MONTH)
MRR_MOVEMENTS = Source("marts.fct_mrr_movements", "revenue_month", MONTH)
REVENUE_BY_PERIOD = Source("marts.fct_revenue_by_period", "period_start", PERIOD_TYPED)
PLAN_REVENUE = Source("marts.fct_plan_revenue_monthly", "revenue_month", MONTH)
PAYMENTS_DAILY = Source("marts.fct_payments_daily", "payment_date", DAY)
PAYMENTS_HOURLY = Source("marts.fct_payments_hourly", "hour_start", HOUR)
PAYMENT_FAILURES = Source("marts.fct_payment_failures_monthly", "failure_month", MONTH)
PAYMENT_RETRIES = Source("marts.fct_payment_retries_monthly", "invoice_month", MONTH)
RESOURCE_REVENUE = Source("marts.fct_resource_revenue_monthly", "revenue_month", MONTH)
WEBHOOK_DELIVERIES = Source("marts.fct_webhook_deliveries_daily", "delivery_date", DAY)
SALES_MONTHLY = Source("marts.fct_sales_monthly", "sales_month", MONTH)
SALES_REPS = Source("marts.fct_sales_rep_monthly", "sales_month", MONTH)
CUSTOMER_HEALTH = Source("marts.fct_customer_health_daily", "as_of_date", DAY)
REVENUE_BY_COUNTRY = Source("marts.fct_revenue_by_country_monthly", "revenue_month", MONTH)
ACQUISITION = Source("marts.fct_acquisition_monthly", "acquisition_month", MONTH)
TOURNAMENTS = Source("marts.fct_tournaments_by_period", "period_start", PERIOD_TYPED)
MRR_FORECAST = Source("marts.fct_mrr_forecast", "forecast_month", FORECAST)
COHORT_BENCHMARKS = "marts.fct_cohort_benchmarks"

MONTHLY_ONLY = ("monthly",)
DAILY_WEEKLY = ("daily", "weekly")

FRESHNESS = FreshnessCheck("marts.fct_daily_kpis", "kpi_date")

# --- shared section layouts --------------------------------------------------------------------------

# the succeeded payments and distinct payers of a group (the marts by resource and by country)
PAYMENTS_AND_PAYERS = sums(COUNT, payments_succeeded="Payments", unique_payers="Payers")

HOURS_OF_DAY = tuple((hour, f"{hour:02d}:00") for hour in range(24))


def by_hour_of_day(key: str, title: str, source: Source, aggregates: tuple[Aggregate, ...], bars: str) -> Section:
    """A breakdown of an hour mart over the 24 UTC hours of the day: a bar chart with a total, no table."""
    return Section(
        key=key, title=title, kind=BREAKDOWN_TABLE, source=source,
        group_by=HOUR_OF_DAY, group_label="Hour (UTC)", groups=HOURS_OF_DAY, aggregates=aggregates,
        total_label="Total", bars=bars, show_table=False,
    )
