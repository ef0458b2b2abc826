"""Customer success: the customer book, health bands (now and over time), the at-risk trend."""

from __future__ import annotations

from meridian.reports.model import (
    COUNT,
    KPI_TILES,
    LAST,
    METRIC_TABLE,
    NUMBER,
    TREND_CHART,
    Metric,
    ReportType,
    Section,
)
from meridian.reports.types.common import (
    COMMON_PARAMETERS,
    CUSTOMER_HEALTH,
    FRESHNESS,
)

CUSTOMERS = Metric("total_customers", "Customers", COUNT, agg=LAST)
AT_RISK = Metric("at_risk", "At risk", COUNT, False, agg=LAST)
HEALTH = Metric("avg_health_score", "Avg health score", NUMBER, agg=LAST)
CRITICAL = Metric("critical", "Critical (< 40)", COUNT, False, agg=LAST)
# the customers of each health band: a table of the period and a trend of the same figures
HEALTH_BANDS = (
    Metric("healthy", "Healthy (80+)", COUNT, agg=LAST),
    Metric("stable", "Stable (60-79)", COUNT, None, agg=LAST),
    Metric("at_risk_band", "At risk (40-59)", COUNT, False, agg=LAST),
    CRITICAL,
)

CUSTOMER_SECTIONS = (
    Section(
        key="headline", title="Headline", kind=KPI_TILES, source=CUSTOMER_HEALTH,
        metrics=(
            CUSTOMERS,
            Metric("active", "Active", COUNT, agg=LAST),
            Metric("onboarding", "Onboarding", COUNT, None, agg=LAST),
            AT_RISK,
            Metric("churned_this_month", "Churned this month", COUNT, False, agg=LAST),
            HEALTH,
        ),
        description="The customer book at the end of the period's last day.",
    ),
    Section(
        key="health_bands", title="Health bands", kind=METRIC_TABLE, source=CUSTOMER_HEALTH,
        metrics=HEALTH_BANDS,
        bars="current",
    ),
    Section(
        key="health_bands_trend", title="Health bands over time", kind=TREND_CHART, source=CUSTOMER_HEALTH,
        metrics=HEALTH_BANDS,
        description=(
            "Customers by health band at the end of each point; a customer counts from its creation, "
            "in a band once its health is known."
        ),
    ),
    Section(
        key="at_risk_trend", title="At-risk customers trend", kind=TREND_CHART, source=CUSTOMER_HEALTH,
        metrics=(
            Metric("at_risk", "At risk (status)", COUNT, agg=LAST),
            Metric("critical", "Critical (score < 40)", COUNT, agg=LAST),
        ),
    ),
)


CUSTOMER_SUCCESS = ReportType(
    name="customer_success", title="Customer success", grain="day",
    description="The customer book, health bands and the at-risk trend.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS, sections=CUSTOMER_SECTIONS,
)
