"""Reading the marts: the catalog (which tables and columns exist), each section's date range, one select per mart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg2.extensions
from psycopg2 import sql

from meridian.reports.model import (
    COHORT,
    FORECAST,
    FORECAST_MONTHS,
    HOUR,
    KPI_TILES,
    METRIC_TABLE,
    MONTH,
    PERIOD_TYPED,
    TREND_CHART,
    WEEK_COHORT,
    Section,
    Source,
)
from meridian.reports.periods import Period, month_start
from meridian.reports.reading.figures import Row
from meridian.reports.reading.timeline import (
    DEFAULT_TREND_POINTS,
    NATURAL_PERIOD_TYPE,
    monday,
    month_scope,
    previous_period,
    trend_buckets,
    trend_unit,
)

# --- reading --------------------------------------------------------------------------------------


def existing_columns(cur: psycopg2.extensions.cursor, table: str) -> set[str] | None:
    """Column names of ``schema.table``, or None when it does not exist (or is not visible)."""
    return read_catalog(cur, [table]).get(table)


def read_catalog(cur: psycopg2.extensions.cursor, tables: Iterable[str]) -> dict[str, set[str]]:
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


def day_of(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


@dataclass
class SectionPlan:
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


def plan_section(section: Section, period: Period, parameters: Mapping[str, Any]) -> SectionPlan:
    grain = section.source.grain
    previous = previous_period(period)
    if section.kind == TREND_CHART:
        unit = trend_unit(period, section)
        buckets = trend_buckets(period, unit, _trend_points(section, unit, parameters))
        return SectionPlan(section, buckets[0][0], buckets[-1][1], buckets=buckets, unit=unit)
    if grain == MONTH:
        scope = month_scope(period)
        previous_scope = Period("monthly", month_start(scope.start, -1), scope.start - timedelta(days=1))
        return SectionPlan(section, previous_scope.start, scope.end, scope, previous_scope)
    if grain == COHORT:
        unit_days = 31 if period.frequency == "monthly" else 7
        start = (
            month_start(period.end, -section.cohorts)
            if period.frequency == "monthly"
            else monday(period.end - timedelta(days=unit_days * section.cohorts))
        )
        return SectionPlan(section, start, period.end, period)
    if grain == WEEK_COHORT:
        weeks = (monday(period.start), period.end)
        return SectionPlan(section, weeks[0], weeks[1], period, weeks=weeks)
    if grain == FORECAST:
        first = month_start(period.end, 1)
        ahead = Period("monthly", first, month_start(period.end, FORECAST_MONTHS + 1) - timedelta(days=1))
        return SectionPlan(section, ahead.start, ahead.end, ahead)
    if section.kind in (KPI_TILES, METRIC_TABLE):
        return SectionPlan(section, previous.start, period.end, period, previous)
    return SectionPlan(section, period.start, period.end, period)


def source_filters(source: Source, period: Period) -> list[tuple[str, Any]]:
    filters: list[tuple[str, Any]] = list(source.filters)
    if source.grain == COHORT:
        filters.append(("cohort_grain", "month" if period.frequency == "monthly" else "week"))
    return filters


def select_rows(
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
    for column, value in source_filters(source, period):
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
