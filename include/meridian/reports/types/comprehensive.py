"""The comprehensive report: every section of the six area reports, grouped by area.

A section keeps its definition; its key gets the area's prefix (``revenue_headline``)
and its ``area`` the area's title, so the renderers show an area heading above it.
"""

from __future__ import annotations

import dataclasses

from meridian.reports.model import ReportType, Section
from meridian.reports.types.common import COMMON_PARAMETERS, FRESHNESS
from meridian.reports.types.customer_success import CUSTOMER_SUCCESS
from meridian.reports.types.payments import PAYMENTS
from meridian.reports.types.revenue_summary import REVENUE_SUMMARY
from meridian.reports.types.sales import SALES
from meridian.reports.types.tournament_performance import TOURNAMENT_PERFORMANCE
from meridian.reports.types.user_analytics import USER_ANALYTICS

# (report type, section key prefix, area title) in the order the report shows them
AREAS: tuple[tuple[ReportType, str, str], ...] = (
    (REVENUE_SUMMARY, "revenue", "Revenue"),
    (USER_ANALYTICS, "users", "Users"),
    (PAYMENTS, "payments", "Payments"),
    (SALES, "sales", "Sales"),
    (CUSTOMER_SUCCESS, "customers", "Customer success"),
    (TOURNAMENT_PERFORMANCE, "tournaments", "Tournaments"),
)
AREA_REPORTS = tuple(report_type for report_type, _, _ in AREAS)


def _in_area(report_type: ReportType, prefix: str, area: str) -> tuple[Section, ...]:
    return tuple(
        dataclasses.replace(section, key=f"{prefix}_{section.key}", area=area) for section in report_type.sections
    )


COMPREHENSIVE = ReportType(
    name="comprehensive", title="Comprehensive report", grain="day",
    description="Every section of the revenue, users, payments, sales, customer success and tournaments reports.",
    freshness=FRESHNESS, parameters=COMMON_PARAMETERS,
    sections=tuple(section for area in AREAS for section in _in_area(*area)),
)
