"""What a report type is made of: sections reading marts, the section kinds, the value kinds.

A report type (:class:`ReportType`) is a list of sections. Each section names the mart it reads (a
:class:`Source`: table, period column and grain), the columns it needs, how
they are aggregated over the report's period and how the section is shown
(its kind: one of :data:`SECTION_KINDS`, each defined once here and drawn by
every renderer). The report types themselves are data in
:mod:`meridian.reports.types`, one module each; the loader
(:mod:`meridian.reports.data`) and the renderers (:mod:`meridian.reports.render`)
are generic over these definitions.

Every read is filtered to one tenant (``where tenant_id = %s``); a section
cannot read across tenants. A mart that does not exist yet, or lacks a column
a section needs, makes that section "not available" (with the reason), never
an error nor zeros.

Periods and comparisons
    A report covers its period (:mod:`meridian.reports.periods`: the day, the
    7 days or the calendar month before it is due) and compares it with the
    previous period of the same length (the day before, the 7 days before, the
    previous calendar month). How a section gets its figures depends on the
    grain of its mart:

    - ``day`` marts (``fct_daily_kpis``, ``fct_payments_daily``, ...): the rows
      of the period's days, aggregated per metric (:data:`AGGREGATIONS`):
      counts and money summed, rates recomputed from summed numerators and
      denominators, point values such as MRR taken on the period's last day;
    - ``period`` marts (``fct_revenue_by_period``, ``fct_tournaments_by_period``,
      rows per ``period_type``): the mart's own row when the report's period is
      one of its periods (a day; a Monday-to-Sunday week; a calendar month),
      otherwise the ``day`` rows aggregated as above;
    - ``hour`` marts: the hours of the period's days (peak hours by hour of day);
    - ``month`` marts: a monthly report reads its month and the month before; a
      daily or weekly report reads the month that contains its last day, month
      to date (the section says so), against the previous whole month;
    - ``cohort`` marts (``fct_retention_cohorts``): monthly cohorts for monthly
      reports, weekly ones otherwise, the latest that start by the period's end,
      with only the periods that had started by then;
    - ``week_cohort`` marts (``fct_funnel_steps``): the cohort weeks that overlap
      the period, summed per step, the conversions recomputed; further funnel
      metrics (the average time from the previous step) weighted by the users
      who reached the step;
    - ``forecast`` marts (``fct_mrr_forecast``): the months after the period's
      month, as the latest transform run forecast them.

    A heat-map section with a ``benchmark`` (``fct_cohort_benchmarks``) compares
    each cohort with the mean of the cohorts: a first row holds the benchmark's
    average rate per period, every cohort row its rate minus that average.

    Trend charts show the report's unit (days for a daily report, 7-day blocks
    for a weekly one, months for a monthly one), ending with the report's
    period; ``month`` marts always trend by month.

The names in :data:`REPORT_TYPE_NAMES`, :data:`FREQUENCIES` and
:data:`FORMAT_NAMES` are the ones docs/metrics.md allows in
``reporting.scheduled_reports`` (the table's check constraints are built from
them); they are defined with the table, in :mod:`meridian.warehouse.reporting`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# the names reporting.scheduled_reports accepts are defined with the table (re-exported here)
from meridian.warehouse.reporting import FORMAT_NAMES as FORMAT_NAMES
from meridian.warehouse.reporting import FREQUENCIES as FREQUENCIES
from meridian.warehouse.reporting import REPORT_TYPE_NAMES as REPORT_TYPE_NAMES

# section kinds the renderers know
KPI_TILES = "kpi_tiles"  # one tile per metric: value for the period, change vs the previous period
TREND_CHART = "trend_chart"  # a line per metric over the trend window
METRIC_TABLE = "metric_table"  # metric | this period | previous period | change
BREAKDOWN_TABLE = "breakdown_table"  # one row per group (group_by), aggregates as columns; bars optional
FUNNEL = "funnel"  # steps of a funnel: entities reached (bars), conversions recomputed
HEATMAP = "heatmap"  # cohort retention: a row per cohort, a coloured cell per period number
SECTION_KINDS = (KPI_TILES, TREND_CHART, METRIC_TABLE, BREAKDOWN_TABLE, FUNNEL, HEATMAP)

# mart grains (how a section's rows map to the report's period; see the module docstring)
DAY = "day"
PERIOD_TYPED = "period"
HOUR = "hour"
MONTH = "month"
COHORT = "cohort"
WEEK_COHORT = "week_cohort"
FORECAST = "forecast"
GRAINS = (DAY, PERIOD_TYPED, HOUR, MONTH, COHORT, WEEK_COHORT, FORECAST)
FORECAST_MONTHS = 6  # forecast marts: the months after the period's month a section shows

# value kinds (how a number is formatted)
MONEY = "money"
COUNT = "count"
RATE = "rate"  # a fraction in [0, 1] (may exceed 1 for retention); shown as a percentage
NUMBER = "number"  # a measure with decimals that is not money (seconds, minutes, scores, players)
TEXT = "text"  # a label such as the most popular format
VALUE_KINDS = (MONEY, COUNT, RATE, NUMBER, TEXT)

# how a metric or an aggregate combines the rows of a period (AGGREGATIONS)
SUM = "sum"
LAST = "last"  # the value on the latest day of the period that has rows (summed over the day's rows)
AVG = "avg"  # the mean of the rows' values
MAX = "max"
RATIO = "ratio"  # sum(column) / sum(over...), null when the denominator is 0
WEIGHTED = "weighted"  # sum(column × over[0]) / sum(over[0])
COUNT_DISTINCT = "count_distinct"
COUNT_ROWS = "count"
SHARE = "share"  # breakdowns: the group's value of aggregate ``column`` / the total over all groups
AGGREGATIONS = (SUM, LAST, AVG, MAX, RATIO, WEIGHTED, COUNT_DISTINCT, COUNT_ROWS, SHARE)

HOUR_OF_DAY = "hour_of_day"  # a group_by for hour marts: the UTC hour of hour_start


class ReportConfigError(ValueError):
    """A scheduled report's configuration is invalid; ``field`` names the bad column or parameter."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Source:
    """A mart as sections read it: ``schema.table``, its period column, its grain and fixed filters."""

    table: str
    period_column: str
    grain: str = DAY
    filters: tuple[tuple[str, str], ...] = ()  # (column, value) pairs every read adds

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def key_columns(self) -> tuple[str, ...]:
        extra = {
            PERIOD_TYPED: ("period_type",),
            COHORT: ("cohort_grain", "period_number", "period_start"),
            WEEK_COHORT: ("step_number",),
        }
        return ("tenant_id", self.period_column, *extra.get(self.grain, ()), *(column for column, _ in self.filters))


@dataclass(frozen=True)
class Metric:
    """A figure of a tiles, metric-table or trend section: ``agg`` of ``column`` over the period's rows."""

    column: str
    label: str
    kind: str = MONEY
    higher_is_better: bool | None = True  # colours the change green when it goes this way; None: neutral
    agg: str = SUM
    over: tuple[str, ...] = ()  # RATIO: the denominator columns (summed); WEIGHTED: the weight column
    name: str = ""  # the figure's name in CSV/XLSX and the data (default: column); docs/metrics.md's where it has one

    @property
    def key(self) -> str:
        return self.name or self.column

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.over)


@dataclass(frozen=True)
class Aggregate:
    """A column of a breakdown: ``function`` of ``column`` over a group's rows (see :data:`AGGREGATIONS`).

    For ``share``, ``column`` names another aggregate of the same section.
    """

    name: str
    label: str
    function: str
    column: str
    kind: str = MONEY
    over: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return () if self.function == SHARE else (self.column, *self.over)


def summed(column: str, label: str, kind: str = MONEY) -> Aggregate:
    """A breakdown column: the sum of the mart column of the same name over a group's rows."""
    return Aggregate(column, label, SUM, column, kind)


def sums(kind: str, **labels: str) -> tuple[Aggregate, ...]:
    """:func:`summed` over several mart columns of one kind, in order: ``sums(COUNT, failed="Failed", ...)``."""
    return tuple(summed(column, label, kind) for column, label in labels.items())


def largest(column: str, label: str, kind: str = MONEY) -> Aggregate:
    """A breakdown column: the largest value of the mart column of the same name in a group."""
    return Aggregate(column, label, MAX, column, kind)


def share_of(aggregate: str, label: str) -> Aggregate:
    """A breakdown column ``share``: the group's part of the total of another aggregate of the section."""
    return Aggregate("share", label, SHARE, aggregate, RATE)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: str
    source: Source
    metrics: tuple[Metric, ...] = ()
    window: int | None = None  # trend points; None: 30 days, 12 weeks or 12 months
    group_by: str | None = None  # breakdowns: a column, or HOUR_OF_DAY
    group_label: str | None = None  # breakdowns: the header of the group column ("Plan", "Sales rep")
    groups: tuple[tuple[str, str], ...] = ()  # fixed (value, label) in display order; others left out
    label_column: str | None = None  # breakdowns without fixed groups: the column naming a group
    aggregates: tuple[Aggregate, ...] = ()
    order_by: str | None = None  # breakdowns without fixed groups: an aggregate, largest first
    limit: int | None = None  # keep the first groups after ordering
    total_label: str | None = None  # a totals row ("Net", "Total") under a breakdown
    bars: str | None = None  # breakdowns and funnels: the aggregate drawn as bars
    show_table: bool = True  # PDF/HTML: the table under the bars (XLSX and CSV always have it)
    cohorts: int = 8  # heat-maps: cohorts shown
    frequencies: tuple[str, ...] = FREQUENCIES  # report frequencies that include this section
    width: str = "full"  # "half": two consecutive half sections share a row (PDF/HTML)
    area: str | None = None  # the area heading (comprehensive, executive)
    description: str = ""
    benchmark: str | None = None  # heat-maps: ``schema.table`` of the cohort benchmarks to compare with

    @property
    def table(self) -> str:
        return self.source.table

    @property
    def period_column(self) -> str:
        return self.source.period_column

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this section reads (``tenant_id`` is always read and filtered on)."""
        cols: list[str] = list(self.source.key_columns)
        for metric in self.metrics:
            cols += metric.columns
        if self.group_by and self.group_by != HOUR_OF_DAY:
            cols.append(self.group_by)
        if self.label_column:
            cols.append(self.label_column)
        for aggregate in self.aggregates:
            cols += aggregate.columns
        return tuple(dict.fromkeys(cols))


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
    grain: str  # the unit of the report's main marts: "day" or "month"
    sections: tuple[Section, ...]
    parameters: tuple[Parameter, ...] = ()
    freshness: FreshnessCheck | None = None
    description: str = ""
    compact: bool = False  # PDF: one page, smaller type and margins (the executive summary)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"report type {self.name!r} has no section {key!r}")

    def sections_for(self, frequency: str) -> tuple[Section, ...]:
        """The sections a report of ``frequency`` shows, in order."""
        return tuple(section for section in self.sections if frequency in section.frequencies)

    @property
    def tables(self) -> tuple[str, ...]:
        tables = [table for section in self.sections for table in (section.table, section.benchmark) if table]
        return tuple(dict.fromkeys(tables))

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


