"""Read the marts a report type needs, for one tenant and one period, and shape each section.

Reads: one catalog query (the columns of every table the report names), then
one ``select ... from <mart> where tenant_id = %s and <period column> between
%s and %s`` per mart (sections sharing a mart share the read), with the table
and column names taken from the registry (quoted as identifiers) and the
values passed as parameters. A table that does not exist yet, or lacks a
column a section needs, makes that section "not available" (with the reason)
instead of failing the report: reports keep going out while the marts are
being built or migrated.

The figures are then combined in Python per section, as
:mod:`meridian.reports.registry` describes: the report's period against the
previous period of the same length (:func:`previous_period`), trends by the
report's unit, breakdowns over the period, funnels over the cohort weeks that
overlap the period, retention over the latest cohorts.

The shaping stays in plain Python rather than pandas: the one pivot (the
retention heat-map, cohorts × period numbers) is a dozen lines either way once
pandas' NaN and numpy scalars are turned back into the None, int and Decimal
every renderer expects, the breakdown aggregates (ratio, weighted, share) are
no shorter as groupby calls, and importing pandas (about 0.5 s) would cost as
much as rendering a comprehensive report. pandas serves the ledger export
(meridian.serve.export), where a table goes to CSV or JSON as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg2.extensions
from psycopg2 import sql

from meridian.reports.periods import Period, month_start
from meridian.reports.registry import (
    AVG,
    BREAKDOWN_TABLE,
    COHORT,
    COUNT,
    COUNT_DISTINCT,
    COUNT_ROWS,
    FORECAST,
    FORECAST_MONTHS,
    FUNNEL,
    HEATMAP,
    HOUR,
    KPI_TILES,
    LAST,
    MAX,
    METRIC_TABLE,
    MONEY,
    MONTH,
    PERIOD_TYPED,
    RATE,
    RATIO,
    SHARE,
    SUM,
    TEXT,
    TREND_CHART,
    WEEK_COHORT,
    WEIGHTED,
    ReportConfigError,
    ReportType,
    Section,
    Source,
)

Row = dict[str, Any]

UNITS = {"daily": "day", "weekly": "week", "monthly": "month"}
DEFAULT_TREND_POINTS = {"day": 30, "week": 12, "month": 12}
NATURAL_PERIOD_TYPE = {"daily": "day", "weekly": "week", "monthly": "month"}


# --- periods ------------------------------------------------------------------------------------


def month_end(day: date) -> date:
    return month_start(day, 1) - timedelta(days=1)


def previous_period(period: Period) -> Period:
    """The period a report compares with: the day before, the 7 days before, the previous calendar month."""
    if period.frequency == "monthly":
        start = month_start(period.start, -1)
        return Period(period.frequency, start, month_end(start))
    length = (period.end - period.start).days + 1
    return Period(period.frequency, period.start - timedelta(days=length), period.start - timedelta(days=1))


def month_scope(period: Period) -> Period:
    """What a monthly mart holds for ``period``: its month, or the month to date of its last day."""
    return Period("monthly", period.end.replace(day=1), period.end)


def trend_unit(period: Period, section: Section) -> str:
    return "month" if section.source.grain == MONTH else UNITS.get(period.frequency, "day")


def trend_buckets(period: Period, unit: str, points: int) -> list[tuple[date, date]]:
    """``points`` consecutive (start, end) buckets of ``unit`` ending with the report's period, oldest first."""
    buckets = []
    for back in range(points - 1, -1, -1):
        if unit == "day":
            day = period.end - timedelta(days=back)
            buckets.append((day, day))
        elif unit == "week":
            end = period.end - timedelta(days=7 * back)
            buckets.append((end - timedelta(days=6), end))
        else:
            start = month_start(period.end, -back)
            buckets.append((start, min(month_end(start), period.end) if back == 0 else month_end(start)))
    return buckets


def bucket_label(start: date, unit: str) -> str:
    if unit == "month":
        return start.strftime("%b %y")
    return f"{start.day} {start.strftime('%b')}"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- the data a renderer gets ---------------------------------------------------------------------


@dataclass
class SectionData:
    """One section's figures, shaped for the renderers.

    ``current``/``previous`` (tiles and metric tables): metric key → value for
    ``scope`` and ``previous_scope``. ``rows``: trend points (``period_start``,
    ``period_end``, ``label`` and a value per metric key), breakdown groups
    (the group value, ``label`` and a value per aggregate), funnel steps or
    retention cohorts; ``total`` the breakdown's totals row. ``caption`` says
    what the figures cover when it is not the report's period.
    """

    section: Section
    available: bool
    note: str | None = None  # why the section is not available
    rows: list[Row] = field(default_factory=list)
    current: Row | None = None
    previous: Row | None = None
    total: Row | None = None
    scope: Period | None = None
    previous_scope: Period | None = None
    caption: str | None = None
    window_start: date | None = None
    window_end: date | None = None
    unit: str | None = None  # trends: day, week or month
    period_numbers: list[int] = field(default_factory=list)  # heat-maps: the period columns shown

    @property
    def has_data(self) -> bool:
        if not self.available:
            return False
        if self.section.kind in (KPI_TILES, METRIC_TABLE):
            return self.current is not None
        return bool(self.rows)


@dataclass
class ReportData:
    """A report's figures. ``currency``: the tenant's ISO code every money value is in (None when not known,
    ``currency_note`` says why); ``as_of``: the run's as-of instant the period was chosen at (None when the
    period was named directly)."""

    report_type: ReportType
    tenant_id: str
    period: Period
    parameters: Mapping[str, Any]
    generated_at: datetime
    sections: list[SectionData]
    report_name: str | None = None
    currency: str | None = None
    currency_note: str | None = None
    as_of: datetime | None = None

    @property
    def previous_period(self) -> Period:
        return previous_period(self.period)

    @property
    def month(self) -> date:
        return self.period.month

    @property
    def previous_month(self) -> date:
        return month_start(self.period.month, -1)

    def section(self, key: str) -> SectionData:
        for data in self.sections:
            if data.section.key == key:
                return data
        raise KeyError(f"report {self.report_type.name!r} has no section {key!r}")


# --- aggregation ----------------------------------------------------------------------------------

_PLACES = {RATE: Decimal("0.0001"), MONEY: Decimal("0.01")}


def _round(value: Decimal, kind: str) -> Decimal:
    return value.quantize(_PLACES.get(kind, Decimal("0.01")), rounding=ROUND_HALF_UP)


def _total(rows: list[Row], column: str) -> Any:
    values = [row[column] for row in rows if row.get(column) is not None]
    return sum(values[1:], values[0]) if values else None


def aggregate(rows: list[Row], column: str, function: str, over: tuple[str, ...], kind: str, day_key: str) -> Any:
    """Combine ``column`` of ``rows`` (the rows of one period or group) by ``function``."""
    if not rows:
        return None
    if function == SUM:
        return _total(rows, column)
    if function == LAST:
        latest = max(row[day_key] for row in rows)
        on_day = [row for row in rows if row[day_key] == latest]
        if kind == TEXT:
            return next((row[column] for row in on_day if row.get(column) is not None), None)
        return _total(on_day, column)
    if function == MAX:
        values = [row[column] for row in rows if row.get(column) is not None]
        return max(values) if values else None
    if function == AVG:
        values = [Decimal(row[column]) for row in rows if row.get(column) is not None]
        return _round(sum(values) / len(values), kind) if values else None
    if function == COUNT_DISTINCT:
        return len({row[column] for row in rows if row.get(column) is not None})
    if function == COUNT_ROWS:
        return sum(1 for row in rows if row.get(column) is not None)
    if function == RATIO:
        numerator = _total(rows, column)
        denominator = sum((Decimal(_total(rows, name) or 0) for name in over), Decimal(0))
        if numerator is None or denominator == 0:
            return None
        return _round(Decimal(numerator) / denominator, kind)
    if function == WEIGHTED:
        weight = over[0]
        pairs = [(Decimal(row[column]), Decimal(row[weight] or 0)) for row in rows if row.get(column) is not None]
        total_weight = sum((w for _, w in pairs), Decimal(0))
        if not pairs or total_weight == 0:
            return None
        return _round(sum(value * w for value, w in pairs) / total_weight, kind)
    raise ValueError(f"unknown aggregation {function!r}")


def _zero(kind: str, function: str) -> Any:
    if function in (SUM, COUNT_DISTINCT, COUNT_ROWS):
        return 0 if kind == COUNT else Decimal("0.00")
    return None


# --- reading --------------------------------------------------------------------------------------


def _existing_columns(cur: psycopg2.extensions.cursor, table: str) -> set[str] | None:
    """Column names of ``schema.table``, or None when it does not exist (or is not visible)."""
    return _catalog(cur, [table]).get(table)


def _catalog(cur: psycopg2.extensions.cursor, tables: Iterable[str]) -> dict[str, set[str]]:
    """The columns of each of ``tables`` that exists, in one query."""
    tables = list(dict.fromkeys(tables))
    if not tables:
        return {}
    cur.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        "where table_schema || '.' || table_name = any(%s)",
        (tables,),
    )
    found: dict[str, set[str]] = defaultdict(set)
    for table, column in cur.fetchall():
        found[table].add(column)
    return dict(found)


def _day_of(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


@dataclass
class _Plan:
    """What one section needs from its mart: a date range (inclusive) and its own filters."""

    section: Section
    start: date
    end: date
    scope: Period | None = None
    previous_scope: Period | None = None
    buckets: list[tuple[date, date]] = field(default_factory=list)
    unit: str | None = None
    weeks: tuple[date, date] | None = None


def _trend_points(section: Section, unit: str, parameters: Mapping[str, Any]) -> int:
    if parameters.get("trend_periods"):
        return int(parameters["trend_periods"])
    if unit == "month" and parameters.get("trend_months"):
        return int(parameters["trend_months"])
    return section.window or DEFAULT_TREND_POINTS[unit]


def _plan(section: Section, period: Period, parameters: Mapping[str, Any]) -> _Plan:
    grain = section.source.grain
    previous = previous_period(period)
    if section.kind == TREND_CHART:
        unit = trend_unit(period, section)
        buckets = trend_buckets(period, unit, _trend_points(section, unit, parameters))
        return _Plan(section, buckets[0][0], buckets[-1][1], buckets=buckets, unit=unit)
    if grain == MONTH:
        scope = month_scope(period)
        previous_scope = Period("monthly", month_start(scope.start, -1), scope.start - timedelta(days=1))
        return _Plan(section, previous_scope.start, scope.end, scope, previous_scope)
    if grain == COHORT:
        unit_days = 31 if period.frequency == "monthly" else 7
        start = (
            month_start(period.end, -section.cohorts)
            if period.frequency == "monthly"
            else monday(period.end - timedelta(days=unit_days * section.cohorts))
        )
        return _Plan(section, start, period.end, period)
    if grain == WEEK_COHORT:
        weeks = (monday(period.start), period.end)
        return _Plan(section, weeks[0], weeks[1], period, weeks=weeks)
    if grain == FORECAST:
        first = month_start(period.end, 1)
        ahead = Period("monthly", first, month_start(period.end, FORECAST_MONTHS + 1) - timedelta(days=1))
        return _Plan(section, ahead.start, ahead.end, ahead)
    if section.kind in (KPI_TILES, METRIC_TABLE):
        return _Plan(section, previous.start, period.end, period, previous)
    return _Plan(section, period.start, period.end, period)


def _source_filters(source: Source, period: Period) -> list[tuple[str, Any]]:
    filters: list[tuple[str, Any]] = list(source.filters)
    if source.grain == COHORT:
        filters.append(("cohort_grain", "month" if period.frequency == "monthly" else "week"))
    return filters


def _select(
    cur: psycopg2.extensions.cursor,
    source: Source,
    columns: list[str],
    tenant_id: str,
    start: date,
    end: date,
    period: Period,
) -> list[Row]:
    column_list = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    period_column = sql.Identifier(source.period_column)
    conditions = [sql.SQL("tenant_id = %s")]
    values: list[Any] = [tenant_id]
    if source.grain == HOUR:
        conditions.append(sql.SQL("{p} >= %s and {p} < %s").format(p=period_column))
        values += [
            datetime.combine(start, time.min, tzinfo=UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
        ]
    elif source.grain == MONTH:
        conditions.append(sql.SQL("{p} between %s and %s").format(p=period_column))
        values += [start.replace(day=1), end]
    else:
        conditions.append(sql.SQL("{p} between %s and %s").format(p=period_column))
        values += [start, end]
    if source.grain == PERIOD_TYPED:
        conditions.append(sql.SQL("period_type = any(%s)"))
        values.append(["day", NATURAL_PERIOD_TYPE.get(period.frequency, "day")])
    for column, value in _source_filters(source, period):
        conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
        values.append(value)
    query = sql.SQL("select {columns} from {schema}.{table} where {conditions} order by {p}").format(
        columns=column_list,
        schema=sql.Identifier(source.schema_name),
        table=sql.Identifier(source.table_name),
        conditions=sql.SQL(" and ").join(conditions),
        p=period_column,
    )
    cur.execute(query, values)
    names = [desc[0] for desc in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# --- shaping ----------------------------------------------------------------------------------------


def _rows_in(rows: list[Row], source: Source, start: date, end: date) -> list[Row]:
    key = source.period_column
    if source.grain == MONTH:
        return [row for row in rows if start.replace(day=1) <= row[key] <= end]
    if source.grain == HOUR:
        return [row for row in rows if start <= _day_of(row[key]) <= end]
    if source.grain == PERIOD_TYPED:
        return [row for row in rows if row.get("period_type") == "day" and start <= row[key] <= end]
    return [row for row in rows if start <= row[key] <= end]


def _period_rows(rows: list[Row], source: Source, scope: Period) -> list[Row]:
    """The rows that make up ``scope``: a period mart's own row when there is one, else the days."""
    if source.grain == PERIOD_TYPED:
        natural = NATURAL_PERIOD_TYPE.get(scope.frequency)
        is_natural = (
            natural == "day"
            or (natural == "week" and scope.start.weekday() == 0 and (scope.end - scope.start).days == 6)
            or (natural == "month" and scope.start.day == 1 and scope.end == month_end(scope.start))
        )
        if is_natural:
            own = [
                row for row in rows if row.get("period_type") == natural and row[source.period_column] == scope.start
            ]
            if own:
                return own
        return _rows_in(rows, source, scope.start, scope.end)
    return _rows_in(rows, source, scope.start, scope.end)


def _metric_values(section: Section, rows: list[Row]) -> Row | None:
    if not rows:
        return None
    day_key = section.period_column
    return {
        metric.key: aggregate(rows, metric.column, metric.agg, metric.over, metric.kind, day_key)
        for metric in section.metrics
    }


def _metric_values_of_period(section: Section, rows: list[Row], scope: Period) -> Row | None:
    picked = _period_rows(rows, section.source, scope)
    values = _metric_values(section, picked)
    if values is not None and section.source.grain == PERIOD_TYPED:
        is_own = any(row.get("period_type") != "day" for row in picked) or scope.start == scope.end
        for metric in section.metrics:
            if metric.kind == TEXT and not is_own:
                values[metric.key] = None  # not additive over days
    return values


def _group_value(section: Section, row: Row) -> Any:
    if section.group_by == "hour_of_day":
        return _day_hour(row[section.period_column])
    return row[section.group_by]


def _day_hour(value: Any) -> int:
    return value.astimezone(UTC).hour if isinstance(value, datetime) else 0


def _aggregates(section: Section, rows: list[Row]) -> Row:
    values: Row = {}
    for item in section.aggregates:
        if item.function == SHARE:
            continue
        value = aggregate(rows, item.column, item.function, item.over, item.kind, section.period_column)
        values[item.name] = _zero(item.kind, item.function) if value is None else value
    return values


def _breakdown(section: Section, rows: list[Row]) -> tuple[list[Row], Row]:
    assert section.group_by is not None
    by_group: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        by_group[_group_value(section, row)].append(row)
    if section.groups:
        keys = [value for value, _ in section.groups]
        labels = dict(section.groups)
        considered = [row for key in keys for row in by_group.get(key, [])]
    else:
        keys = list(by_group)
        labels = {}
        considered = rows
    out: list[Row] = []
    for key in keys:
        group_rows = by_group.get(key, [])
        label = labels.get(key)
        if label is None and section.label_column:
            label = next((row[section.label_column] for row in group_rows if row.get(section.label_column)), None)
        row: Row = {"key": key, section.group_by: key, "label": str(label if label is not None else key)}
        row.update(_aggregates(section, group_rows))
        out.append(row)
    total: Row = {"key": None, "label": section.total_label or "Total"}
    total.update(_aggregates(section, considered))
    for item in section.aggregates:
        if item.function == SHARE:
            whole = total.get(item.column)
            for row in out:
                part = row.get(item.column)
                row[item.name] = _round(Decimal(part) / Decimal(whole), RATE) if whole and part is not None else None
            total[item.name] = Decimal("1.0000") if whole else None
    if not section.groups and section.order_by:
        order = section.order_by
        out.sort(key=lambda row: (row[order] is None, -(row[order] or 0), str(row["key"])))
    elif not section.groups:
        out.sort(key=lambda row: str(row["key"]))
    if section.limit:
        out = out[: section.limit]
    return out, total


def _funnel(section: Section, rows: list[Row]) -> list[Row]:
    """Steps summed over the cohort weeks; further metrics (an average time) aggregated per step."""
    metric = section.metrics[0].column
    steps: dict[int, Row] = {}
    step_rows: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        step = steps.setdefault(row["step_number"], {"step_number": row["step_number"], "label": None, metric: 0})
        if section.label_column and row.get(section.label_column) and not step["label"]:
            step["label"] = row[section.label_column]
        step[metric] += row.get(metric) or 0
        step_rows[row["step_number"]].append(row)
    for number, step in steps.items():
        for extra in section.metrics[1:]:
            step[extra.key] = aggregate(
                step_rows[number], extra.column, extra.agg, extra.over, extra.kind, section.period_column
            )
    ordered = [steps[number] for number in sorted(steps)]
    first = ordered[0][metric] if ordered else 0
    previous = None
    for step in ordered:
        reached = step[metric]
        step["label"] = str(step["label"] or f"Step {step['step_number']}")
        step["conversion_from_previous_rate"] = _round(Decimal(reached) / Decimal(previous), RATE) if previous else None
        step["conversion_from_start_rate"] = _round(Decimal(reached) / Decimal(first), RATE) if first else None
        step["drop_off"] = (previous - reached) if previous is not None else 0
        previous = reached
    return ordered


def _benchmark_rows(heatmap: list[Row], numbers: list[int], benchmark: dict[int, Any]) -> list[Row]:
    """The heat-map as differences from the benchmark: a benchmark row, then each cohort's rate minus it."""
    first: Row = {"cohort_start": None, "label": "Benchmark", "cohort_size": None}
    for number in numbers:
        first[f"period_{number}"] = benchmark.get(number)
    out = [first]
    for row in heatmap:
        item = dict(row)
        for number in numbers:
            rate, mean = row.get(f"period_{number}"), benchmark.get(number)
            item[f"period_{number}"] = (
                _round(Decimal(rate) - Decimal(mean), RATE) if rate is not None and mean is not None else None
            )
        out.append(item)
    return out


def _read_benchmark(cur: psycopg2.extensions.cursor, table: str, tenant_id: str, grain: str) -> dict[int, Any]:
    """period_number → avg_retention_rate of the tenant's cohort benchmarks of ``grain``."""
    schema_name, table_name = table.split(".", 1)
    cur.execute(
        sql.SQL(
            "select period_number, avg_retention_rate from {schema}.{table} where tenant_id = %s and cohort_grain = %s"
        ).format(schema=sql.Identifier(schema_name), table=sql.Identifier(table_name)),
        (tenant_id, grain),
    )
    return {number: rate for number, rate in cur.fetchall()}


def _heatmap(section: Section, rows: list[Row], period: Period) -> tuple[list[Row], list[int]]:
    rows = [row for row in rows if row["cohort_start"] <= period.end and row["period_start"] <= period.end]
    starts = sorted({row["cohort_start"] for row in rows})[-section.cohorts :]
    rate_column = section.metrics[0].column
    size_column = section.metrics[1].column if len(section.metrics) > 1 else "cohort_size"
    numbers = sorted({row["period_number"] for row in rows if row["cohort_start"] in starts})
    out = []
    monthly = period.frequency == "monthly"
    for start in starts:
        cohort_rows = {row["period_number"]: row for row in rows if row["cohort_start"] == start}
        size = next((row[size_column] for row in cohort_rows.values() if row.get(size_column) is not None), None)
        item: Row = {
            "cohort_start": start,
            "label": start.strftime("%b %Y") if monthly else f"w/c {start.isoformat()}",
            size_column: size,
        }
        for number in numbers:
            row = cohort_rows.get(number)
            item[f"period_{number}"] = row.get(rate_column) if row else None
        out.append(item)
    return out, numbers


def _shape(plan: _Plan, rows: list[Row], period: Period) -> SectionData:
    section = plan.section
    source = section.source
    caption = None
    if source.grain == MONTH and period.frequency != "monthly":
        caption = (
            f"Month to date: {plan.scope.start:%d} to {plan.scope.end:%d %B %Y}, against all of "
            f"{plan.previous_scope.start:%B %Y} (the mart is monthly)."
            if section.kind in (KPI_TILES, METRIC_TABLE)
            else f"Month to date: {plan.scope.start:%d} to {plan.scope.end:%d %B %Y} (the mart is monthly)."
        )
    data = SectionData(
        section,
        True,
        scope=plan.scope,
        previous_scope=plan.previous_scope,
        caption=caption,
        window_start=plan.start,
        window_end=plan.end,
        unit=plan.unit,
    )
    kind = section.kind
    if kind in (KPI_TILES, METRIC_TABLE):
        assert plan.scope is not None and plan.previous_scope is not None
        data.current = _metric_values_of_period(section, rows, plan.scope)
        data.previous = _metric_values_of_period(section, rows, plan.previous_scope)
    elif kind == TREND_CHART:
        points = []
        for start, end in plan.buckets:
            if source.grain == MONTH:
                bucket_rows = [row for row in rows if row[source.period_column] == start]
            else:
                bucket_rows = _rows_in(rows, source, start, end)
            values = _metric_values(section, bucket_rows) or {metric.key: None for metric in section.metrics}
            points.append(
                {"period_start": start, "period_end": end, "label": bucket_label(start, plan.unit or "day"), **values}
            )
        while points and all(points[0][metric.key] is None for metric in section.metrics):
            points.pop(0)  # before the tenant's data starts
        data.rows = points
    elif kind == BREAKDOWN_TABLE:
        assert plan.scope is not None
        data.rows, data.total = _breakdown(section, _rows_in(rows, source, plan.scope.start, plan.scope.end))
    elif kind == FUNNEL:
        assert plan.weeks is not None
        data.rows = _funnel(
            section, [row for row in rows if plan.weeks[0] <= row[source.period_column] <= plan.weeks[1]]
        )
        if data.rows:
            data.caption = f"Cohort weeks starting {plan.weeks[0].isoformat()} to {monday(plan.weeks[1]).isoformat()}."
    elif kind == HEATMAP:
        data.rows, data.period_numbers = _heatmap(section, rows, period)
    return data


def load_section(
    cur: psycopg2.extensions.cursor,
    section: Section,
    tenant_id: str,
    period: Period,
    parameters: Mapping[str, Any],
) -> SectionData:
    """One section on its own (one catalog query and one read)."""
    return _load_sections(cur, [section], tenant_id, period, parameters)[0]


def _load_sections(
    cur: psycopg2.extensions.cursor,
    sections: list[Section],
    tenant_id: str,
    period: Period,
    parameters: Mapping[str, Any],
) -> list[SectionData]:
    tables = [table for section in sections for table in (section.table, section.benchmark) if table]
    catalog = _catalog(cur, tables)
    plans: list[_Plan | SectionData] = []
    needs: dict[Source, tuple[list[str], date, date]] = {}
    benchmarks: dict[str, dict[int, Any]] = {}
    for section in sections:
        columns = catalog.get(section.table)
        if columns is None:
            plans.append(SectionData(section, False, f"not available: {section.table} does not exist yet"))
            continue
        if section.benchmark and not {"period_number", "avg_retention_rate"} <= catalog.get(section.benchmark, set()):
            plans.append(SectionData(section, False, f"not available: {section.benchmark} does not exist yet"))
            continue
        if section.benchmark and section.benchmark not in benchmarks:
            grain = dict(_source_filters(section.source, period)).get("cohort_grain", "week")
            benchmarks[section.benchmark] = _read_benchmark(cur, section.benchmark, tenant_id, grain)
        missing = [column for column in section.columns if column not in columns]
        if missing:
            plans.append(
                SectionData(section, False, f"not available: {section.table} has no column {', '.join(missing)}")
            )
            continue
        plan = _plan(section, period, parameters)
        plans.append(plan)
        wanted, start, end = needs.get(section.source, ([], plan.start, plan.end))
        needs[section.source] = (
            list(dict.fromkeys([*wanted, *section.columns])),
            min(start, plan.start),
            max(end, plan.end),
        )
    rows_by_source = {
        source: _select(cur, source, columns, tenant_id, start, end, period)
        for source, (columns, start, end) in needs.items()
    }
    shaped = [
        plan if isinstance(plan, SectionData) else _shape(plan, rows_by_source[plan.section.source], period)
        for plan in plans
    ]
    for data in shaped:
        if data.available and data.section.benchmark:
            data.rows = (
                _benchmark_rows(data.rows, data.period_numbers, benchmarks[data.section.benchmark]) if data.rows else []
            )
    return shaped


TENANTS_TABLE = "marts.dim_tenants"


def tenant_currency(
    cur: psycopg2.extensions.cursor, tenant_id: str, stated: str | None = None
) -> tuple[str | None, str | None]:
    """(currency, note): the tenant's ISO code from ``marts.dim_tenants.currency``, the money of its marts.

    ``stated`` is the report's ``currency`` parameter: it must equal the tenant's
    currency (raises :class:`ReportConfigError` naming ``parameters.currency``
    otherwise) and is used only while the table has no row for the tenant. With
    neither, the currency is None and the note says why.
    """
    columns = _existing_columns(cur, TENANTS_TABLE)
    found: str | None = None
    if columns is None:
        why = f"{TENANTS_TABLE} does not exist yet"
    elif "currency" not in columns:
        why = f"{TENANTS_TABLE} has no column currency"
    else:
        cur.execute("select currency from marts.dim_tenants where tenant_id = %s", (tenant_id,))
        row = cur.fetchone()
        found = ((row[0] or "").strip().upper() or None) if row else None
        why = f"{TENANTS_TABLE} has no currency for tenant {tenant_id!r}"
    if found and stated and stated != found:
        raise ReportConfigError(
            "parameters.currency",
            f"{stated!r} is not tenant {tenant_id!r}'s currency {found!r} ({TENANTS_TABLE}.currency), the currency "
            f"of its marts; remove the parameter or set it to {found!r}",
        )
    if found:
        return found, None
    if stated:
        return stated, f"{why}; the report's currency parameter says {stated}"
    return None, f"currency not known: {why}"


def load_report_data(
    conn: psycopg2.extensions.connection,
    report_type: ReportType,
    tenant_id: str,
    period: Period,
    parameters: Mapping[str, Any],
    *,
    generated_at: datetime,
    report_name: str | None = None,
    as_of: datetime | None = None,
) -> ReportData:
    """Read every section of ``report_type`` for ``tenant_id`` and ``period`` (read-only), and the tenant's currency.

    ``as_of`` is the run's as-of instant the period was chosen at (the report says which closed period it covers
    and why); None when the period was named directly.
    """
    if not tenant_id:
        raise ValueError("tenant_id is required: every report reads one tenant")
    with conn.cursor() as cur:
        currency, currency_note = tenant_currency(cur, tenant_id, parameters.get("currency"))
        sections = _load_sections(cur, list(report_type.sections_for(period.frequency)), tenant_id, period, parameters)
    return ReportData(
        report_type=report_type,
        tenant_id=tenant_id,
        period=period,
        parameters=dict(parameters),
        generated_at=generated_at,
        sections=sections,
        report_name=report_name,
        currency=currency,
        currency_note=currency_note,
        as_of=as_of,
    )


def freshness_gap(
    conn: psycopg2.extensions.connection, report_type: ReportType, tenant_id: str, period: Period
) -> str | None:
    """Why the marts are not ready for this period yet, or None when they are (or cannot be checked)."""
    check = report_type.freshness
    if check is None:
        return None
    with conn.cursor() as cur:
        columns = _existing_columns(cur, check.table)
        if columns is None or check.column not in columns:
            return None
        schema_name, table_name = check.table.split(".", 1)
        cur.execute(
            sql.SQL("select max({column}) from {schema}.{table} where tenant_id = %s").format(
                column=sql.Identifier(check.column),
                schema=sql.Identifier(schema_name),
                table=sql.Identifier(table_name),
            ),
            (tenant_id,),
        )
        latest = cur.fetchone()[0]
    if latest is None or latest >= period.end:
        return None
    return f"{check.table}.{check.column} reaches {latest} for tenant {tenant_id!r}; the period ends {period.end}"
