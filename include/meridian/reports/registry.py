"""Report types as data.

A report type is a list of sections; each section names the mart it reads, the
columns it needs, how many mart periods (ending with the report's) it reads,
and how it is shown. The loader (:mod:`meridian.reports.data`) and the
renderers (:mod:`meridian.reports.render`) are generic over these
definitions, so a new report type is mostly a new entry in
:data:`REPORT_TYPES` (plus a renderer for any new section kind).

Every read is filtered to one tenant (``where tenant_id = %s``); a section
cannot read across tenants.

The names in :data:`REPORT_TYPE_NAMES`, :data:`FREQUENCIES` and
:data:`FORMAT_NAMES` are the ones METRICS.md allows in
``reporting.scheduled_reports`` (the table's check constraints are built from
them); :data:`REPORT_TYPES` and :data:`meridian.reports.render.RENDERERS` hold
the ones implemented so far.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

REPORT_TYPE_NAMES: tuple[str, ...] = (
    "revenue_summary",
    "user_analytics",
    "payments",
    "sales",
    "customer_success",
    "tournament_performance",
    "executive",
    "comprehensive",
)
FREQUENCIES: tuple[str, ...] = ("daily", "weekly", "monthly")
FORMAT_NAMES: tuple[str, ...] = ("pdf", "csv", "xlsx", "html")

# section kinds the renderers know
KPI_TILES = "kpi_tiles"  # one tile per metric: value for the period, change vs the previous period
TREND_CHART = "trend_chart"  # a line per metric over the section's window
METRIC_TABLE = "metric_table"  # metric | this period | previous period | change
BREAKDOWN_TABLE = "breakdown_table"  # one row per value of group_by, aggregates as columns
SECTION_KINDS = (KPI_TILES, TREND_CHART, METRIC_TABLE, BREAKDOWN_TABLE)

# value kinds (how a number is formatted)
MONEY = "money"
COUNT = "count"
RATE = "rate"  # a fraction in [0, 1] (may exceed 1 for retention); shown as a percentage


class ReportConfigError(ValueError):
    """A scheduled report's configuration is invalid; ``field`` names the bad column or parameter."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Metric:
    column: str
    label: str
    kind: str = MONEY
    higher_is_better: bool = True  # colours the change green when it goes this way


@dataclass(frozen=True)
class Aggregate:
    """An aggregate of a breakdown table: ``function`` over ``column`` (see :data:`AGGREGATE_SQL`)."""

    name: str
    label: str
    function: str  # a key of AGGREGATE_SQL
    column: str
    kind: str = MONEY


AGGREGATE_SQL: dict[str, str] = {
    "sum": "coalesce(sum({column}), 0)",
    "count_distinct": "count(distinct {column})",
    "count": "count({column})",
}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: str
    table: str  # schema.table in the warehouse
    period_column: str  # the mart's period column (a date: the 1st of the month for monthly marts)
    metrics: tuple[Metric, ...] = ()
    window: int = 1  # mart periods read, ending with the report's period
    group_by: str | None = None  # breakdown tables
    groups: tuple[tuple[str, str], ...] = ()  # (value, label) in display order; other values are left out
    aggregates: tuple[Aggregate, ...] = ()
    description: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this section reads (``tenant_id`` is always read and filtered on)."""
        cols = ["tenant_id", self.period_column]
        cols += [metric.column for metric in self.metrics]
        if self.group_by:
            cols.append(self.group_by)
        cols += [aggregate.column for aggregate in self.aggregates]
        return tuple(dict.fromkeys(cols))

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]


@dataclass(frozen=True)
class Parameter:
    """A key of ``scheduled_reports.parameters``: its default and a check that returns an error or None."""

    name: str
    default: Any
    description: str
    check: Callable[[Any], str | None]


@dataclass(frozen=True)
class FreshnessCheck:
    """The report waits until ``table.column`` (a date) reaches the period's last day for the tenant.

    The check is skipped when the table does not exist yet or has no rows for
    the tenant (the sections then say what is missing).
    """

    table: str
    column: str


@dataclass(frozen=True)
class ReportType:
    name: str
    title: str  # "Revenue summary"; the e-mail subject uses it in lower case
    grain: str  # the marts' period: "month"
    sections: tuple[Section, ...]
    parameters: tuple[Parameter, ...] = ()
    freshness: FreshnessCheck | None = None
    description: str = ""

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"report type {self.name!r} has no section {key!r}")

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(section.table for section in self.sections))

    def resolve_parameters(self, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in; raises :class:`ReportConfigError` naming ``parameters.<key>`` when one is bad."""
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, Mapping):
            raise ReportConfigError("parameters", f"must be a JSON object, got {type(parameters).__name__}")
        known = {parameter.name: parameter for parameter in self.parameters}
        unknown = sorted(set(parameters) - set(known))
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise ReportConfigError(
                f"parameters.{unknown[0]}",
                f"is not a parameter of report type {self.name!r} (allowed: {allowed})",
            )
        resolved: dict[str, Any] = {}
        for name, parameter in known.items():
            value = parameters.get(name, parameter.default)
            if name in parameters:
                problem = parameter.check(value)
                if problem:
                    raise ReportConfigError(f"parameters.{name}", f"{problem} (got {value!r})")
            resolved[name] = value
        return resolved


def _int_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


def _currency_code(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value)):
        return None
    return "must be a three-letter ISO 4217 code such as EUR"


REVENUE_SUMMARY = ReportType(
    name="revenue_summary",
    title="Revenue summary",
    grain="month",
    description=(
        "MRR, ARR, customers and revenue of one tenant for the month the report covers, "
        "with the change on the previous month, the MRR trend and the MRR movements."
    ),
    freshness=FreshnessCheck("marts.fct_daily_kpis", "kpi_date"),
    parameters=(
        Parameter("trend_months", 12, "months shown in the MRR trend chart", _int_between(3, 36)),
        Parameter(
            "currency", None, "ISO code shown after money amounts (marts hold the tenant's currency)", _currency_code
        ),
    ),
    sections=(
        Section(
            key="headline",
            title="Headline",
            kind=KPI_TILES,
            table="marts.fct_monthly_revenue",
            period_column="revenue_month",
            window=2,
            metrics=(
                Metric("ending_mrr", "MRR"),
                Metric("net_new_mrr", "Net new MRR"),
                Metric("arr", "ARR"),
                Metric("net_revenue", "Net revenue"),
                Metric("paying_customers", "Paying customers", COUNT),
                Metric("new_customers", "New customers", COUNT),
                Metric("churned_customers", "Churned customers", COUNT, higher_is_better=False),
                Metric("payments_succeeded", "Payments succeeded", COUNT),
            ),
        ),
        Section(
            key="mrr_trend",
            title="MRR trend",
            kind=TREND_CHART,
            table="marts.fct_monthly_revenue",
            period_column="revenue_month",
            window=12,  # overridden by the trend_months parameter
            metrics=(Metric("ending_mrr", "Ending MRR"),),
        ),
        Section(
            key="mrr_movements",
            title="MRR movements",
            kind=BREAKDOWN_TABLE,
            table="marts.fct_mrr_movements",
            period_column="revenue_month",
            group_by="movement",
            groups=(
                ("new", "New"),
                ("expansion", "Expansion"),
                ("reactivation", "Reactivation"),
                ("contraction", "Contraction"),
                ("churn", "Churn"),
            ),
            aggregates=(
                Aggregate("customers", "Customers", "count_distinct", "user_id", COUNT),
                Aggregate("mrr_change", "MRR change", "sum", "mrr_change", MONEY),
            ),
            description="Customers and MRR change by movement; contraction and churn are negative.",
        ),
        Section(
            key="revenue",
            title="Revenue and payments",
            kind=METRIC_TABLE,
            table="marts.fct_monthly_revenue",
            period_column="revenue_month",
            window=2,
            metrics=(
                Metric("starting_mrr", "Starting MRR"),
                Metric("new_mrr", "New MRR"),
                Metric("expansion_mrr", "Expansion MRR"),
                Metric("reactivation_mrr", "Reactivation MRR"),
                Metric("contraction_mrr", "Contraction MRR", higher_is_better=False),
                Metric("churned_mrr", "Churned MRR", higher_is_better=False),
                Metric("ending_mrr", "Ending MRR"),
                Metric("arpu", "ARPU"),
                Metric("logo_churn_rate", "Logo churn", RATE, higher_is_better=False),
                Metric("net_mrr_retention_rate", "Net MRR retention", RATE),
                Metric("gross_revenue", "Gross revenue"),
                Metric("refunds", "Refunds", higher_is_better=False),
                Metric("net_revenue", "Net revenue"),
                Metric("payments_attempted", "Payments attempted", COUNT),
                Metric("payments_succeeded", "Payments succeeded", COUNT),
            ),
        ),
    ),
)

REPORT_TYPES: dict[str, ReportType] = {report_type.name: report_type for report_type in (REVENUE_SUMMARY,)}


def _check_registry() -> None:
    for report_type in REPORT_TYPES.values():
        if report_type.name not in REPORT_TYPE_NAMES:
            raise ValueError(f"report type {report_type.name!r} is not one of REPORT_TYPE_NAMES")
        for section in report_type.sections:
            if section.kind not in SECTION_KINDS:
                raise ValueError(f"section {report_type.name}.{section.key} has unknown kind {section.kind!r}")
            for aggregate in section.aggregates:
                if aggregate.function not in AGGREGATE_SQL:
                    raise ValueError(
                        f"section {report_type.name}.{section.key}: unknown aggregate {aggregate.function!r}"
                    )


_check_registry()


def get_report_type(name: str) -> ReportType:
    """The implemented report type ``name``; raises :class:`ReportConfigError` naming ``report_type``."""
    try:
        return REPORT_TYPES[name]
    except KeyError:
        implemented = ", ".join(sorted(REPORT_TYPES))
        if name in REPORT_TYPE_NAMES:
            problem = f"{name!r} is not implemented yet (implemented: {implemented})"
        else:
            problem = f"unknown report type {name!r} (known: {', '.join(REPORT_TYPE_NAMES)})"
        raise ReportConfigError("report_type", problem) from None
