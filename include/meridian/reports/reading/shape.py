"""Shaping a section's rows: period figures, trend points, breakdowns, funnels and heat-maps."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg2.extensions
from psycopg2 import sql

from meridian.reports.model import (
    BREAKDOWN_TABLE,
    FUNNEL,
    HEATMAP,
    HOUR,
    KPI_TILES,
    METRIC_TABLE,
    MONTH,
    PERIOD_TYPED,
    RATE,
    SHARE,
    TEXT,
    TREND_CHART,
    Section,
    Source,
)
from meridian.reports.periods import Period
from meridian.reports.reading.aggregate import aggregate, round_to, zero_for
from meridian.reports.reading.figures import Row, SectionData
from meridian.reports.reading.read import SectionPlan, day_of
from meridian.reports.reading.timeline import NATURAL_PERIOD_TYPE, bucket_label, monday, month_end

# --- shaping ----------------------------------------------------------------------------------------


def _rows_in(rows: list[Row], source: Source, start: date, end: date) -> list[Row]:
    key = source.period_column
    if source.grain == MONTH:
        return [row for row in rows if start.replace(day=1) <= row[key] <= end]
    if source.grain == HOUR:
        return [row for row in rows if start <= day_of(row[key]) <= end]
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
        values[item.name] = zero_for(item.kind, item.function) if value is None else value
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
                row[item.name] = round_to(Decimal(part) / Decimal(whole), RATE) if whole and part is not None else None
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
        step["conversion_from_previous_rate"] = round_to(Decimal(reached) / Decimal(previous), RATE) if previous else None
        step["conversion_from_start_rate"] = round_to(Decimal(reached) / Decimal(first), RATE) if first else None
        step["drop_off"] = (previous - reached) if previous is not None else 0
        previous = reached
    return ordered


def benchmark_rows(heatmap: list[Row], numbers: list[int], benchmark: dict[int, Any]) -> list[Row]:
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
                round_to(Decimal(rate) - Decimal(mean), RATE) if rate is not None and mean is not None else None
            )
        out.append(item)
    return out


def read_benchmark(cur: psycopg2.extensions.cursor, table: str, tenant_id: str, grain: str) -> dict[int, Any]:
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


def shape_section(plan: SectionPlan, rows: list[Row], period: Period) -> SectionData:
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
