"""The catalogue of report types: :data:`REPORT_TYPES` by name, checked once at import.

The report types are data in :mod:`meridian.reports.types` (one module each);
what they are made of is :mod:`meridian.reports.model`. :func:`get_report_type`
names an unknown or not yet implemented type in a :class:`ReportConfigError`.
"""

from __future__ import annotations

from meridian.reports.model import (
    AGGREGATIONS,
    BREAKDOWN_TABLE,
    COUNT_ROWS,
    DAY,
    FORMAT_NAMES,
    FREQUENCIES,
    GRAINS,
    HOUR,
    PERIOD_TYPED,
    RATE,
    RATIO,
    REPORT_TYPE_NAMES,
    SECTION_KINDS,
    SHARE,
    SUM,
    VALUE_KINDS,
    WEIGHTED,
    Metric,
    ReportConfigError,
    ReportType,
)
from meridian.reports.types.comprehensive import AREA_REPORTS, COMPREHENSIVE
from meridian.reports.types.customer_success import CUSTOMER_SUCCESS
from meridian.reports.types.executive import EXECUTIVE
from meridian.reports.types.payments import PAYMENTS
from meridian.reports.types.revenue_summary import REVENUE_SUMMARY
from meridian.reports.types.sales import SALES
from meridian.reports.types.tournament_performance import TOURNAMENT_PERFORMANCE
from meridian.reports.types.user_analytics import USER_ANALYTICS

__all__ = [
    "COMPREHENSIVE",
    "CUSTOMER_SUCCESS",
    "EXECUTIVE",
    "FORMAT_NAMES",
    "FREQUENCIES",
    "PAYMENTS",
    "REPORT_TYPES",
    "REPORT_TYPE_NAMES",
    "REVENUE_SUMMARY",
    "SALES",
    "TOURNAMENT_PERFORMANCE",
    "USER_ANALYTICS",
    "ReportConfigError",
    "ReportType",
    "get_report_type",
]

REPORT_TYPES: dict[str, ReportType] = {
    report_type.name: report_type for report_type in (*AREA_REPORTS, EXECUTIVE, COMPREHENSIVE)
}


def _check_registry() -> None:
    for report_type in REPORT_TYPES.values():
        if report_type.name not in REPORT_TYPE_NAMES:
            raise ValueError(f"report type {report_type.name!r} is not one of REPORT_TYPE_NAMES")
        for frequency in FREQUENCIES:
            keys = [section.key for section in report_type.sections_for(frequency)]
            if len(keys) != len(set(keys)):
                raise ValueError(f"report type {report_type.name!r} repeats a section key for {frequency} reports")
        for section in report_type.sections:
            where = f"section {report_type.name}.{section.key}"
            if section.kind not in SECTION_KINDS:
                raise ValueError(f"{where} has unknown kind {section.kind!r}")
            if section.source.grain not in GRAINS:
                raise ValueError(f"{where} has unknown grain {section.source.grain!r}")
            names = {aggregate.name for aggregate in section.aggregates}
            for item in (*section.metrics, *section.aggregates):
                function = item.agg if isinstance(item, Metric) else item.function
                if function not in AGGREGATIONS or item.kind not in VALUE_KINDS:
                    raise ValueError(f"{where}: unknown aggregation {function!r} or kind {item.kind!r}")
                if function in (RATIO, WEIGHTED) and not item.over:
                    raise ValueError(f"{where}: {function} of {item.column} needs the columns it divides by")
                if function == SHARE and item.column not in names:
                    raise ValueError(f"{where}: share of {item.column!r}, which is not an aggregate of the section")
            additive = (DAY, PERIOD_TYPED, HOUR)
            metric_keys = [metric.key for metric in section.metrics]
            if len(metric_keys) != len(set(metric_keys)):
                raise ValueError(f"{where}: two metrics have the same name; set Metric.name")
            for metric in section.metrics:
                if section.source.grain in additive and metric.kind == RATE and metric.agg in (SUM, COUNT_ROWS):
                    raise ValueError(f"{where}: the rate {metric.column} cannot be summed over days")
            if section.kind == BREAKDOWN_TABLE and not (section.group_by and section.group_label):
                raise ValueError(f"{where}: a breakdown needs group_by and group_label (its column's header)")
            if section.bars and section.kind == BREAKDOWN_TABLE and section.bars not in names:
                raise ValueError(f"{where}: bars of {section.bars!r}, which is not an aggregate")
            if section.order_by and section.order_by not in names:
                raise ValueError(f"{where}: order_by {section.order_by!r} is not an aggregate")


_check_registry()


def get_report_type(name: str) -> ReportType:
    """The report type ``name``; raises :class:`ReportConfigError` naming ``report_type``."""
    try:
        return REPORT_TYPES[name]
    except KeyError:
        implemented = ", ".join(sorted(REPORT_TYPES))
        if name in REPORT_TYPE_NAMES:
            problem = f"{name!r} is not implemented yet (implemented: {implemented})"
        else:
            problem = f"unknown report type {name!r} (known: {', '.join(REPORT_TYPE_NAMES)})"
        raise ReportConfigError("report_type", problem) from None
