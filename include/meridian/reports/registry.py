"""Report types as data.

A report type is a list of sections. Each section names the mart it reads (a
:class:`Source`: table, period column and grain), the columns it needs, how
they are aggregated over the report's period and how the section is shown.
The loader (:mod:`meridian.reports.data`) and the renderers
(:mod:`meridian.reports.render`) are generic over these definitions, so a new
report type is a new entry in :data:`REPORT_TYPES` built from the sources and
sections below (plus a renderer only for a new section kind).

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

Report types (:data:`REPORT_TYPES`)
    ``revenue_summary``
        MRR, ARR, customers, revenue and payments with the change on the
        previous period, the MRR trend, MRR movements (bars), revenue by plan,
        revenue by country (bars), LTV/CAC by acquisition channel and the MRR
        forecast for the next six months.
    ``user_analytics``
        Active and new users, sessions, stickiness and retention tiles, the
        active users trend, the cohort retention heat-map, the cohorts against
        the cohort benchmark, the onboarding funnel (bars, with the average time
        from the previous step), events by type, activity by hour of day.
    ``payments``
        Success rate, revenue, attempts and latency tiles, the revenue trend,
        payments by method, failure reasons (bars), retries and recovery, the
        hourly peak (bars), top resources, webhook deliveries.
    ``sales``
        Pipeline, win rate, deals and leads tiles, the sales metrics table,
        the rep table, the sales funnel (bars).
    ``customer_success``
        Customer book tiles, health bands (bars), health bands over time, the
        at-risk trend.
    ``tournament_performance``
        Tournaments, completion, players, the most popular format and revenue,
        the tournaments trend.
    ``executive``
        One page: four headline tiles of each area and the MRR and active users
        trends side by side.
    ``comprehensive``
        Every section of the six area reports, grouped by area.

The names in :data:`REPORT_TYPE_NAMES`, :data:`FREQUENCIES` and
:data:`FORMAT_NAMES` are the ones docs/metrics.md allows in
``reporting.scheduled_reports`` (the table's check constraints are built from
them).
"""

from __future__ import annotations

import dataclasses
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
    def schema_name(self) -> str:
        return self.source.schema_name

    @property
    def table_name(self) -> str:
        return self.source.table_name

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


def _int_between(low: int, high: int) -> Callable[[Any], str | None]:
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
        _int_between(3, 60),
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
FORECAST_MONTHS = 6

MONTHLY_ONLY = ("monthly",)
DAILY_WEEKLY = ("daily", "weekly")

# --- revenue ------------------------------------------------------------------------------------

_MRR_END = Metric("mrr", "MRR", MONEY, agg=LAST)
_PAYING_END = Metric("paying_users", "Paying users", COUNT, agg=LAST)
_NET_REVENUE = Metric("net_revenue", "Net revenue")

REVENUE_SECTIONS = (
    Section(
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=MONTHLY_REVENUE,
        frequencies=MONTHLY_ONLY,
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
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=DAILY_KPIS,
        frequencies=DAILY_WEEKLY,
        metrics=(
            _MRR_END,
            _PAYING_END,
            Metric("new_subscriptions", "New subscriptions", COUNT),
            _NET_REVENUE,
            Metric("gross_revenue", "Gross revenue"),
            Metric("refunds", "Refunds", higher_is_better=False),
            Metric("payments_attempted", "Payments attempted", COUNT),
            Metric("payments_succeeded", "Payments succeeded", COUNT),
        ),
    ),
    Section(
        key="mrr_trend",
        title="MRR trend",
        kind=TREND_CHART,
        source=MONTHLY_REVENUE,
        frequencies=MONTHLY_ONLY,
        metrics=(Metric("ending_mrr", "Ending MRR"),),
    ),
    Section(
        key="mrr_trend",
        title="MRR trend",
        kind=TREND_CHART,
        source=DAILY_KPIS,
        frequencies=DAILY_WEEKLY,
        metrics=(Metric("mrr", "MRR at the end of the day", agg=LAST),),
    ),
    Section(
        key="mrr_movements",
        title="MRR movements",
        kind=BREAKDOWN_TABLE,
        source=MRR_MOVEMENTS,
        group_by="movement",
        group_label="Movement",
        groups=(
            ("new", "New"),
            ("expansion", "Expansion"),
            ("reactivation", "Reactivation"),
            ("contraction", "Contraction"),
            ("churn", "Churn"),
        ),
        aggregates=(
            Aggregate("customers", "Customers", COUNT_DISTINCT, "user_id", COUNT),
            Aggregate("mrr_change", "MRR change", SUM, "mrr_change", MONEY),
        ),
        total_label="Net",
        bars="mrr_change",
        description="Customers and MRR change by movement; contraction and churn are negative.",
    ),
    Section(
        key="revenue",
        title="Revenue and payments",
        kind=METRIC_TABLE,
        source=MONTHLY_REVENUE,
        frequencies=MONTHLY_ONLY,
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
    Section(
        key="revenue",
        title="Revenue and payments",
        kind=METRIC_TABLE,
        source=REVENUE_BY_PERIOD,
        frequencies=DAILY_WEEKLY,
        metrics=(
            Metric("total_revenue", "Gross revenue"),
            Metric("refund_amount", "Refunds", higher_is_better=False),
            Metric("refund_count", "Refund count", COUNT, higher_is_better=False),
            Metric("net_revenue", "Net revenue"),
            Metric("new_revenue", "New revenue"),
            Metric("payment_count", "Payments", COUNT),
            Metric("payment_success_count", "Payments succeeded", COUNT),
            Metric("mrr", "MRR at the end", agg=LAST),
            Metric("arr", "ARR at the end", agg=LAST),
        ),
        description="New revenue sums days when the period is not one of the mart's own periods.",
    ),
    Section(
        key="plan_revenue",
        title="Revenue by plan",
        kind=BREAKDOWN_TABLE,
        source=PLAN_REVENUE,
        group_by="plan_id",
        group_label="Plan",
        label_column="plan_name",
        aggregates=(
            Aggregate("active_subscriptions", "Active subscriptions", SUM, "active_subscriptions", COUNT),
            Aggregate("new_subscriptions", "New", SUM, "new_subscriptions", COUNT),
            Aggregate("canceled_subscriptions", "Canceled", SUM, "canceled_subscriptions", COUNT),
            Aggregate("mrr", "MRR", SUM, "mrr", MONEY),
            Aggregate("gross_revenue", "Gross revenue", SUM, "gross_revenue", MONEY),
        ),
        order_by="mrr",
        total_label="Total",
        bars="mrr",
    ),
    Section(
        key="revenue_by_country",
        title="Revenue by country",
        kind=BREAKDOWN_TABLE,
        source=REVENUE_BY_COUNTRY,
        group_by="country",
        group_label="Country",
        aggregates=(
            Aggregate("gross_revenue", "Gross revenue", SUM, "gross_revenue", MONEY),
            Aggregate("refunds", "Refunds", SUM, "refunds", MONEY),
            Aggregate("net_revenue", "Net revenue", SUM, "net_revenue", MONEY),
            Aggregate("payments_succeeded", "Payments", SUM, "payments_succeeded", COUNT),
            Aggregate("unique_payers", "Payers", SUM, "unique_payers", COUNT),
            Aggregate("share", "Share of gross", SHARE, "gross_revenue", RATE),
        ),
        order_by="gross_revenue",
        limit=15,
        total_label="Total",
        bars="gross_revenue",
        description="Country of the paying user (ZZ: unknown); refunds count under the refunded payer's country.",
    ),
    Section(
        key="ltv_cac",
        title="LTV and CAC by channel",
        kind=BREAKDOWN_TABLE,
        source=ACQUISITION,
        group_by="channel",
        group_label="Channel",
        aggregates=(
            Aggregate("spend", "Spend", SUM, "spend", MONEY),
            Aggregate("new_users", "New users", SUM, "new_users", COUNT),
            Aggregate("new_paying_users", "New paying users", SUM, "new_paying_users", COUNT),
            Aggregate("cac", "CAC", RATIO, "spend", MONEY, over=("new_paying_users",)),
            Aggregate("ltv", "LTV", MAX, "ltv", MONEY),
            Aggregate("ltv_cac_ratio", "LTV/CAC", MAX, "ltv_cac_ratio", NUMBER),
            Aggregate("payback_months", "Payback (months)", MAX, "payback_months", NUMBER),
        ),
        order_by="spend",
        bars="cac",
        description=(
            "Users who signed up in the month by channel and the spend on it; LTV is the tenant's predicted "
            "lifetime value (trailing 12-month net revenue per paying user-month × margin / 3-month churn)."
        ),
    ),
    Section(
        key="mrr_forecast",
        title="MRR forecast",
        kind=BREAKDOWN_TABLE,
        source=MRR_FORECAST,
        group_by="forecast_month",
        group_label="Month",
        aggregates=(
            Aggregate("forecast_mrr", "Forecast MRR", SUM, "forecast_mrr", MONEY),
            Aggregate("lower_bound_mrr", "Lower bound", SUM, "lower_bound_mrr", MONEY),
            Aggregate("upper_bound_mrr", "Upper bound", SUM, "upper_bound_mrr", MONEY),
            Aggregate("forecast_arr", "Forecast ARR", SUM, "forecast_arr", MONEY),
        ),
        bars="forecast_mrr",
        description=(
            "The next months' MRR from the latest run: the last complete month's MRR grown by the mean monthly "
            "net-new MRR growth rate of the six months before, bounded by that rate ± one standard deviation."
        ),
    ),
)

# --- users ----------------------------------------------------------------------------------------

_DAU = Metric("active_users", "Active users (daily avg)", NUMBER, agg=AVG)
_NEW_USERS = Metric("new_users", "New users", COUNT)
_MAU = Metric("mau", "MAU (30 days)", COUNT, agg=LAST)
_STICKINESS = Metric("active_users", "Stickiness (DAU/MAU)", RATE, agg=RATIO, over=("mau",), name="stickiness_rate")

USER_SECTIONS = (
    Section(
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=DAILY_KPIS,
        metrics=(
            _DAU,
            Metric("wau", "WAU (7 days)", COUNT, agg=LAST),
            _MAU,
            _NEW_USERS,
            Metric("sessions", "Sessions", COUNT),
            Metric("avg_session_seconds", "Avg session (s)", NUMBER, agg=WEIGHTED, over=("sessions",)),
            _STICKINESS,
            Metric("retention_d7_rate", "D7 retention (daily avg)", RATE, agg=AVG),
        ),
    ),
    Section(
        key="engagement",
        title="Engagement",
        kind=METRIC_TABLE,
        source=DAILY_KPIS,
        metrics=(
            Metric("matches", "Matches", COUNT),
            Metric("messages", "Messages", COUNT),
            Metric("new_subscriptions", "New subscriptions", COUNT),
            Metric("retention_d1_rate", "D1 retention (daily avg)", RATE, agg=AVG),
            Metric("retention_d30_rate", "D30 retention (daily avg)", RATE, agg=AVG),
            Metric("paid_conversion_30d_rate", "Paid conversion, 30 days (at the end)", RATE, agg=LAST),
        ),
        description="Retention rates are the mean of the daily rates; conversion is the value on the last day.",
    ),
    Section(
        key="active_users_trend",
        title="Active users trend",
        kind=TREND_CHART,
        source=DAILY_KPIS,
        metrics=(Metric("active_users", "Daily active users (avg)", NUMBER, agg=AVG),),
    ),
    Section(
        key="retention",
        title="Cohort retention",
        kind=HEATMAP,
        source=RETENTION_COHORTS,
        metrics=(Metric("retention_rate", "Retention", RATE), Metric("cohort_size", "Cohort size", COUNT)),
        description="Share of each signup cohort active in period n (months for monthly reports, weeks otherwise).",
    ),
    Section(
        key="cohort_benchmarks",
        title="Cohorts vs benchmark",
        kind=HEATMAP,
        source=RETENTION_COHORTS,
        benchmark=COHORT_BENCHMARKS,
        metrics=(
            Metric("retention_rate", "Retention vs benchmark", RATE, name="retention_vs_benchmark"),
            Metric("cohort_size", "Cohort size", COUNT),
        ),
        description=(
            "First row (Benchmark): the mean retention of every cohort with signups in period n "
            "(fct_cohort_benchmarks, to the latest run). Other rows: each cohort's retention minus the "
            "benchmark, in percentage points; above zero is better than the typical cohort."
        ),
    ),
    Section(
        key="onboarding_funnel",
        title="Onboarding funnel",
        kind=FUNNEL,
        source=ONBOARDING_FUNNEL,
        label_column="step_name",
        metrics=(
            Metric("entities_reached", "Users reached", COUNT),
            Metric(
                "avg_seconds_from_previous",
                "Avg time (s)",
                NUMBER,
                higher_is_better=False,
                agg=WEIGHTED,
                over=("entities_reached",),
            ),
        ),
        description=(
            "Users who entered in the cohort weeks that overlap the period; recent weeks are still converting. "
            "The average time is over the users who reached the step."
        ),
    ),
    Section(
        key="event_counts",
        title="Events by type",
        kind=BREAKDOWN_TABLE,
        source=EVENT_COUNTS,
        group_by="event_type",
        group_label="Event type",
        aggregates=(
            Aggregate("events", "Events", SUM, "events", COUNT),
            Aggregate("share", "Share", SHARE, "events", RATE),
        ),
        order_by="events",
        limit=12,
        total_label="Total",
        bars="events",
    ),
    Section(
        key="hourly_activity",
        title="Activity by hour of day (UTC)",
        kind=BREAKDOWN_TABLE,
        source=HOURLY_ACTIVITY,
        group_by=HOUR_OF_DAY,
        group_label="Hour (UTC)",
        groups=tuple((hour, f"{hour:02d}:00") for hour in range(24)),
        aggregates=(
            Aggregate("events", "Events", SUM, "events", COUNT),
            Aggregate("sessions_started", "Sessions", SUM, "sessions_started", COUNT),
            Aggregate("new_users", "New users", SUM, "new_users", COUNT),
            Aggregate("messages", "Messages", SUM, "messages", COUNT),
        ),
        total_label="Total",
        bars="events",
        show_table=False,
    ),
)

# --- payments -------------------------------------------------------------------------------------

_SUCCESS_RATE = Metric("succeeded", "Success rate", RATE, agg=RATIO, over=("succeeded", "failed"), name="success_rate")
_PAYMENT_REVENUE = Metric("revenue", "Revenue")
_ATTEMPTS = Metric("attempts", "Attempts", COUNT)
_LATENCY = Metric("latency_avg_ms", "Avg latency (ms)", NUMBER, False, agg=WEIGHTED, over=("succeeded",))

PAYMENT_SECTIONS = (
    Section(
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=PAYMENTS_DAILY,
        metrics=(
            _SUCCESS_RATE,
            _PAYMENT_REVENUE,
            _ATTEMPTS,
            Metric("succeeded", "Succeeded", COUNT),
            Metric("failed", "Failed", COUNT, higher_is_better=False),
            Metric("revenue", "Avg value", MONEY, agg=RATIO, over=("succeeded",), name="avg_value"),
            _LATENCY,
            Metric("latency_p95_ms", "Worst daily p95 latency (ms)", NUMBER, False, agg=MAX),
        ),
    ),
    Section(
        key="revenue_trend",
        title="Payment revenue trend",
        kind=TREND_CHART,
        source=PAYMENTS_DAILY,
        metrics=(Metric("revenue", "Revenue"),),
    ),
    Section(
        key="methods",
        title="Payments by method",
        kind=BREAKDOWN_TABLE,
        source=PAYMENTS_DAILY,
        group_by="method",
        group_label="Method",
        aggregates=(
            Aggregate("attempts", "Attempts", SUM, "attempts", COUNT),
            Aggregate("succeeded", "Succeeded", SUM, "succeeded", COUNT),
            Aggregate("failed", "Failed", SUM, "failed", COUNT),
            Aggregate("success_rate", "Success rate", RATIO, "succeeded", RATE, over=("succeeded", "failed")),
            Aggregate("revenue", "Revenue", SUM, "revenue", MONEY),
        ),
        order_by="revenue",
        total_label="Total",
    ),
    Section(
        key="failure_reasons",
        title="Failure reasons",
        kind=BREAKDOWN_TABLE,
        source=PAYMENT_FAILURES,
        group_by="failure_reason",
        group_label="Failure reason",
        aggregates=(
            Aggregate("failures", "Failures", SUM, "failures", COUNT),
            Aggregate("share", "Share of failures", SHARE, "failures", RATE),
        ),
        order_by="failures",
        total_label="Total",
        bars="failures",
    ),
    Section(
        key="retries",
        title="Retries and recovery",
        kind=METRIC_TABLE,
        source=PAYMENT_RETRIES,
        metrics=(
            Metric("invoices", "Invoices", COUNT),
            Metric("invoices_with_failure", "Invoices with a failure", COUNT, higher_is_better=False),
            Metric("recovered", "Recovered", COUNT),
            Metric("unrecovered", "Unrecovered", COUNT, higher_is_better=False),
            Metric("recovery_rate", "Recovery rate", RATE),
            Metric("avg_attempts", "Attempts per invoice", NUMBER, higher_is_better=None),
        ),
    ),
    Section(
        key="hourly_peak",
        title="Payments by hour of day (UTC)",
        kind=BREAKDOWN_TABLE,
        source=PAYMENTS_HOURLY,
        group_by=HOUR_OF_DAY,
        group_label="Hour (UTC)",
        groups=tuple((hour, f"{hour:02d}:00") for hour in range(24)),
        aggregates=(
            Aggregate("attempts", "Attempts", SUM, "attempts", COUNT),
            Aggregate("succeeded", "Succeeded", SUM, "succeeded", COUNT),
            Aggregate("failed", "Failed", SUM, "failed", COUNT),
            Aggregate("revenue", "Revenue", SUM, "revenue", MONEY),
        ),
        total_label="Total",
        bars="attempts",
        show_table=False,
    ),
    Section(
        key="top_resources",
        title="Top resources",
        kind=BREAKDOWN_TABLE,
        source=RESOURCE_REVENUE,
        group_by="resource",
        group_label="Resource",
        aggregates=(
            Aggregate("revenue", "Revenue", SUM, "revenue", MONEY),
            Aggregate("payments_succeeded", "Payments", SUM, "payments_succeeded", COUNT),
            Aggregate("unique_payers", "Payers", SUM, "unique_payers", COUNT),
        ),
        order_by="revenue",
        limit=10,
        bars="revenue",
    ),
    Section(
        key="webhooks",
        title="Webhook deliveries",
        kind=BREAKDOWN_TABLE,
        source=WEBHOOK_DELIVERIES,
        group_by="event_type",
        group_label="Event type",
        aggregates=(
            Aggregate("deliveries", "Deliveries", SUM, "deliveries", COUNT),
            Aggregate("delivered", "Delivered", SUM, "delivered", COUNT),
            Aggregate("failed", "Failed", SUM, "failed", COUNT),
            Aggregate("pending", "Pending", SUM, "pending", COUNT),
            Aggregate("success_rate", "Success rate", RATIO, "delivered", RATE, over=("delivered", "failed")),
            Aggregate("avg_response_ms", "Avg response (ms)", WEIGHTED, "avg_response_ms", NUMBER, ("deliveries",)),
        ),
        order_by="deliveries",
        total_label="Total",
        description="Success rate = delivered / (delivered + failed); pending deliveries are left out.",
    ),
)

# --- sales and customer success -------------------------------------------------------------------

_PIPELINE = Metric("pipeline_value", "Open pipeline", agg=LAST)
_WIN_RATE = Metric("win_rate", "Win rate", RATE)
_WON = Metric("proposals_won", "Deals won", COUNT)
_LEADS = Metric("leads_created", "New leads", COUNT)

SALES_SECTIONS = (
    Section(
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=SALES_MONTHLY,
        metrics=(
            _PIPELINE,
            Metric("weighted_pipeline", "Weighted pipeline", agg=LAST),
            _WIN_RATE,
            _WON,
            _LEADS,
            Metric("avg_deal_size", "Avg deal size"),
        ),
    ),
    Section(
        key="metrics",
        title="Sales metrics",
        kind=METRIC_TABLE,
        source=SALES_MONTHLY,
        metrics=(
            _LEADS,
            Metric("leads_qualified", "Leads qualified", COUNT),
            Metric("lead_qualification_rate", "Lead qualification", RATE),
            Metric("avg_lead_score", "Avg lead score", NUMBER),
            Metric("proposals_created", "Proposals created", COUNT),
            _WON,
            Metric("proposals_lost", "Deals lost", COUNT, higher_is_better=False),
            _WIN_RATE,
            _PIPELINE,
            Metric("weighted_pipeline", "Weighted pipeline", agg=LAST),
            Metric("avg_deal_size", "Avg deal size"),
            Metric("avg_sales_cycle_days", "Avg sales cycle (days)", NUMBER, False),
            Metric("avg_hours_to_first_contact", "Hours to first contact", NUMBER, False),
        ),
    ),
    Section(
        key="reps",
        title="Sales reps",
        kind=BREAKDOWN_TABLE,
        source=SALES_REPS,
        group_by="rep_id",
        group_label="Sales rep",
        label_column="rep_name",
        aggregates=(
            Aggregate("deals_closed", "Deals closed", SUM, "deals_closed", COUNT),
            Aggregate("revenue", "Revenue", SUM, "revenue", MONEY),
            Aggregate("win_rate", "Win rate", MAX, "win_rate", RATE),
        ),
        order_by="revenue",
        limit=15,
        bars="revenue",
    ),
    Section(
        key="funnel",
        title="Sales funnel",
        kind=FUNNEL,
        source=SALES_FUNNEL,
        label_column="step_name",
        metrics=(Metric("entities_reached", "Leads reached", COUNT),),
        description="Leads that entered in the cohort weeks that overlap the period (180-day window).",
    ),
)

_CUSTOMERS = Metric("total_customers", "Customers", COUNT, agg=LAST)
_AT_RISK = Metric("at_risk", "At risk", COUNT, False, agg=LAST)
_HEALTH = Metric("avg_health_score", "Avg health score", NUMBER, agg=LAST)
_CRITICAL = Metric("critical", "Critical (< 40)", COUNT, False, agg=LAST)

CUSTOMER_SECTIONS = (
    Section(
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=CUSTOMER_HEALTH,
        metrics=(
            _CUSTOMERS,
            Metric("active", "Active", COUNT, agg=LAST),
            Metric("onboarding", "Onboarding", COUNT, None, agg=LAST),
            _AT_RISK,
            Metric("churned_this_month", "Churned this month", COUNT, False, agg=LAST),
            _HEALTH,
        ),
        description="The customer book at the end of the period's last day.",
    ),
    Section(
        key="health_bands",
        title="Health bands",
        kind=METRIC_TABLE,
        source=CUSTOMER_HEALTH,
        metrics=(
            Metric("healthy", "Healthy (80+)", COUNT, agg=LAST),
            Metric("stable", "Stable (60-79)", COUNT, None, agg=LAST),
            Metric("at_risk_band", "At risk (40-59)", COUNT, False, agg=LAST),
            _CRITICAL,
        ),
        bars="current",
    ),
    Section(
        key="health_bands_trend",
        title="Health bands over time",
        kind=TREND_CHART,
        source=CUSTOMER_HEALTH,
        metrics=(
            Metric("healthy", "Healthy (80+)", COUNT, agg=LAST),
            Metric("stable", "Stable (60-79)", COUNT, None, agg=LAST),
            Metric("at_risk_band", "At risk (40-59)", COUNT, False, agg=LAST),
            Metric("critical", "Critical (< 40)", COUNT, False, agg=LAST),
        ),
        description=(
            "Customers by health band at the end of each point; a customer counts from its creation, "
            "in a band once its health is known."
        ),
    ),
    Section(
        key="at_risk_trend",
        title="At-risk customers trend",
        kind=TREND_CHART,
        source=CUSTOMER_HEALTH,
        metrics=(
            Metric("at_risk", "At risk (status)", COUNT, agg=LAST),
            Metric("critical", "Critical (score < 40)", COUNT, agg=LAST),
        ),
    ),
)

# --- tournaments --------------------------------------------------------------------------------

_TOURNAMENT_COUNT = Metric("tournament_count", "Tournaments", COUNT)
_COMPLETION = Metric(
    "completed_count", "Completion rate", RATE, agg=RATIO, over=("tournament_count",), name="completion_rate"
)
_PLAYERS = Metric("total_players", "Players (entries)", COUNT)
_TOURNAMENT_REVENUE = Metric("revenue", "Entry revenue")

TOURNAMENT_SECTIONS = (
    Section(
        key="headline",
        title="Headline",
        kind=KPI_TILES,
        source=TOURNAMENTS,
        metrics=(
            _TOURNAMENT_COUNT,
            Metric("completed_count", "Completed", COUNT),
            _COMPLETION,
            _PLAYERS,
            Metric(
                "total_players",
                "Players per tournament",
                NUMBER,
                agg=RATIO,
                over=("tournament_count",),
                name="avg_players",
            ),
            Metric("avg_duration_minutes", "Avg duration (min)", NUMBER, None, agg=WEIGHTED, over=("completed_count",)),
            Metric("most_popular_format", "Most popular format", TEXT, None, agg=LAST),
            _TOURNAMENT_REVENUE,
        ),
        description=(
            "The most popular format is the mart's own for a day, a Monday-to-Sunday week or a calendar month."
        ),
    ),
    Section(
        key="tournaments_trend",
        title="Tournaments trend",
        kind=TREND_CHART,
        source=TOURNAMENTS,
        metrics=(_TOURNAMENT_COUNT, Metric("completed_count", "Completed", COUNT)),
    ),
)

# --- the report types -----------------------------------------------------------------------------

FRESHNESS = FreshnessCheck("marts.fct_daily_kpis", "kpi_date")

REVENUE_SUMMARY = ReportType(
    name="revenue_summary",
    title="Revenue summary",
    grain="month",
    description=(
        "MRR, ARR, customers and revenue of one tenant for the period the report covers, "
        "with the change on the previous period, the MRR trend, the MRR movements and revenue by plan."
    ),
    freshness=FRESHNESS,
    parameters=(
        Parameter("trend_months", 12, "months shown in the monthly MRR trend chart", _int_between(3, 36)),
        *COMMON_PARAMETERS,
    ),
    sections=REVENUE_SECTIONS,
)
USER_ANALYTICS = ReportType(
    name="user_analytics",
    title="User analytics",
    grain="day",
    description="Active and new users, engagement, retention cohorts, the onboarding funnel and activity.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=USER_SECTIONS,
)
PAYMENTS = ReportType(
    name="payments",
    title="Payments",
    grain="day",
    description="Payment success, revenue and latency, failures, retries, peak hours, resources and webhooks.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=PAYMENT_SECTIONS,
)
SALES = ReportType(
    name="sales",
    title="Sales",
    grain="month",
    description="Pipeline, win rate, deals and leads, the reps and the sales funnel.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=SALES_SECTIONS,
)
CUSTOMER_SUCCESS = ReportType(
    name="customer_success",
    title="Customer success",
    grain="day",
    description="The customer book, health bands and the at-risk trend.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=CUSTOMER_SECTIONS,
)
TOURNAMENT_PERFORMANCE = ReportType(
    name="tournament_performance",
    title="Tournament performance",
    grain="day",
    description="Tournaments, completion, players, the most popular format and entry revenue.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=TOURNAMENT_SECTIONS,
)

AREA_REPORTS = (REVENUE_SUMMARY, USER_ANALYTICS, PAYMENTS, SALES, CUSTOMER_SUCCESS, TOURNAMENT_PERFORMANCE)
AREA_KEYS = {
    "revenue_summary": "revenue",
    "user_analytics": "users",
    "payments": "payments",
    "sales": "sales",
    "customer_success": "customers",
    "tournament_performance": "tournaments",
}
AREA_TITLES = {
    "revenue_summary": "Revenue",
    "user_analytics": "Users",
    "payments": "Payments",
    "sales": "Sales",
    "customer_success": "Customer success",
    "tournament_performance": "Tournaments",
}


def _tiles(key: str, area: str, source: Source, metrics: tuple[Metric, ...]) -> Section:
    return Section(key=key, title=area, kind=KPI_TILES, source=source, metrics=metrics, area=area)


EXECUTIVE = ReportType(
    name="executive",
    title="Executive summary",
    grain="day",
    description="One page: four headline figures per area and the MRR and active users trends.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=(
        _tiles(
            "revenue",
            "Revenue",
            DAILY_KPIS,
            (_MRR_END, _NET_REVENUE, _PAYING_END, Metric("new_subscriptions", "New subscriptions", COUNT)),
        ),
        _tiles("users", "Users", DAILY_KPIS, (_DAU, _NEW_USERS, _MAU, _STICKINESS)),
        _tiles("payments", "Payments", PAYMENTS_DAILY, (_SUCCESS_RATE, _PAYMENT_REVENUE, _ATTEMPTS, _LATENCY)),
        _tiles("sales", "Sales", SALES_MONTHLY, (_PIPELINE, _WIN_RATE, _WON, _LEADS)),
        _tiles("customers", "Customer success", CUSTOMER_HEALTH, (_CUSTOMERS, _AT_RISK, _HEALTH, _CRITICAL)),
        _tiles(
            "tournaments", "Tournaments", TOURNAMENTS, (_TOURNAMENT_COUNT, _COMPLETION, _PLAYERS, _TOURNAMENT_REVENUE)
        ),
        Section(
            key="mrr_trend",
            title="MRR",
            kind=TREND_CHART,
            source=DAILY_KPIS,
            metrics=(Metric("mrr", "MRR", agg=LAST),),
            width="half",
            area="Trends",
        ),
        Section(
            key="active_users_trend",
            title="Daily active users",
            kind=TREND_CHART,
            source=DAILY_KPIS,
            metrics=(Metric("active_users", "Daily active users (avg)", NUMBER, agg=AVG),),
            width="half",
            area="Trends",
        ),
    ),
)


def _in_area(report_type: ReportType) -> tuple[Section, ...]:
    area = AREA_TITLES[report_type.name]
    prefix = AREA_KEYS[report_type.name]
    return tuple(
        dataclasses.replace(section, key=f"{prefix}_{section.key}", area=area) for section in report_type.sections
    )


COMPREHENSIVE = ReportType(
    name="comprehensive",
    title="Comprehensive report",
    grain="day",
    description="Every section of the revenue, users, payments, sales, customer success and tournaments reports.",
    freshness=FRESHNESS,
    parameters=COMMON_PARAMETERS,
    sections=tuple(section for report_type in AREA_REPORTS for section in _in_area(report_type)),
)

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
