"""Read the marts a report type needs, for one tenant and one period.

Every query is ``... where tenant_id = %s`` with the table and column names
taken from the registry (quoted as identifiers) and the values passed as
parameters. A table that does not exist yet, or lacks a column the section
needs, makes that section "not available" (with the reason) instead of failing
the report: reports keep going out while the marts are being built or migrated.

The monthly marts are read for :attr:`Period.month`, the month of the period's
last day: a monthly report reads its own month; a daily or weekly report reads
the month to date that contains its last day (the report says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg2.extensions
from psycopg2 import sql

from meridian.reports.periods import Period, month_start
from meridian.reports.registry import AGGREGATE_SQL, BREAKDOWN_TABLE, COUNT, TREND_CHART, ReportType, Section

Row = dict[str, Any]


@dataclass
class SectionData:
    section: Section
    available: bool
    note: str | None = None  # why the section is not available
    rows: list[Row] = field(default_factory=list)  # ordered by the period column
    window_start: date | None = None
    window_end: date | None = None

    def row_for(self, period_value: date) -> Row | None:
        for row in self.rows:
            if row[self.section.period_column] == period_value:
                return row
        return None


@dataclass
class ReportData:
    report_type: ReportType
    tenant_id: str
    period: Period
    parameters: Mapping[str, Any]
    generated_at: datetime
    sections: list[SectionData]
    report_name: str | None = None

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


def _existing_columns(cur: psycopg2.extensions.cursor, table: str) -> set[str] | None:
    """Column names of ``schema.table``, or None when it does not exist (or is not visible)."""
    schema_name, table_name = table.split(".", 1)
    cur.execute("select to_regclass(%s) is not null", (f'"{schema_name}"."{table_name}"',))
    if not cur.fetchone()[0]:
        return None
    cur.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema_name, table_name),
    )
    return {row[0] for row in cur.fetchall()}


def _window(section: Section, period: Period, parameters: Mapping[str, Any]) -> tuple[date, date]:
    months = section.window
    if section.kind == TREND_CHART and parameters.get("trend_months"):
        months = int(parameters["trend_months"])
    return month_start(period.month, -(months - 1)), period.month


def _table_identifier(section: Section) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(section.schema_name), sql.Identifier(section.table_name))


def _select_rows(
    cur: psycopg2.extensions.cursor, section: Section, tenant_id: str, start: date, end: date
) -> list[Row]:
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in section.columns)
    query = sql.SQL(
        "select {columns} from {table} where tenant_id = %s and {period} between %s and %s order by {period}"
    ).format(columns=columns, table=_table_identifier(section), period=sql.Identifier(section.period_column))
    cur.execute(query, (tenant_id, start, end))
    names = [desc[0] for desc in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _select_breakdown(cur: psycopg2.extensions.cursor, section: Section, tenant_id: str, month: date) -> list[Row]:
    assert section.group_by is not None
    aggregates = sql.SQL(", ").join(
        sql.SQL(AGGREGATE_SQL[aggregate.function] + " as {name}").format(
            column=sql.Identifier(aggregate.column), name=sql.Identifier(aggregate.name)
        )
        for aggregate in section.aggregates
    )
    query = sql.SQL(
        "select {group_by}, {aggregates} from {table} where tenant_id = %s and {period} = %s group by {group_by}"
    ).format(
        group_by=sql.Identifier(section.group_by),
        aggregates=aggregates,
        table=_table_identifier(section),
        period=sql.Identifier(section.period_column),
    )
    cur.execute(query, (tenant_id, month))
    found = {row[0]: row[1:] for row in cur.fetchall()}
    rows: list[Row] = []
    for value, label in section.groups:
        values = found.get(value)
        row: Row = {section.group_by: value, "label": label, section.period_column: month}
        for index, aggregate in enumerate(section.aggregates):
            row[aggregate.name] = values[index] if values else (0 if aggregate.kind == COUNT else Decimal("0.00"))
        rows.append(row)
    return rows


def load_section(
    cur: psycopg2.extensions.cursor,
    section: Section,
    tenant_id: str,
    period: Period,
    parameters: Mapping[str, Any],
) -> SectionData:
    columns = _existing_columns(cur, section.table)
    if columns is None:
        return SectionData(section, False, f"not available: {section.table} does not exist yet")
    missing = [column for column in section.columns if column not in columns]
    if missing:
        return SectionData(section, False, f"not available: {section.table} has no column {', '.join(missing)}")
    if section.kind == BREAKDOWN_TABLE:
        rows = _select_breakdown(cur, section, tenant_id, period.month)
        return SectionData(section, True, rows=rows, window_start=period.month, window_end=period.month)
    start, end = _window(section, period, parameters)
    rows = _select_rows(cur, section, tenant_id, start, end)
    return SectionData(section, True, rows=rows, window_start=start, window_end=end)


def load_report_data(
    conn: psycopg2.extensions.connection,
    report_type: ReportType,
    tenant_id: str,
    period: Period,
    parameters: Mapping[str, Any],
    *,
    generated_at: datetime,
    report_name: str | None = None,
) -> ReportData:
    """Read every section of ``report_type`` for ``tenant_id`` and ``period`` (read-only)."""
    if not tenant_id:
        raise ValueError("tenant_id is required: every report reads one tenant")
    with conn.cursor() as cur:
        sections = [load_section(cur, section, tenant_id, period, parameters) for section in report_type.sections]
    return ReportData(
        report_type=report_type,
        tenant_id=tenant_id,
        period=period,
        parameters=dict(parameters),
        generated_at=generated_at,
        sections=sections,
        report_name=report_name,
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
