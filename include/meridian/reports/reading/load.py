"""Loading a report: every section of a report type for one tenant and period, the tenant's currency, freshness."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import psycopg2.extensions
from psycopg2 import sql

from meridian.reports.model import (
    ReportConfigError,
    ReportType,
    Section,
    Source,
)
from meridian.reports.periods import Period
from meridian.reports.reading.figures import ReportData, SectionData
from meridian.reports.reading.read import (
    SectionPlan,
    existing_columns,
    plan_section,
    read_catalog,
    select_rows,
    source_filters,
)
from meridian.reports.reading.shape import benchmark_rows, read_benchmark, shape_section


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
    catalog = read_catalog(cur, tables)
    plans: list[SectionPlan | SectionData] = []
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
            grain = dict(source_filters(section.source, period)).get("cohort_grain", "week")
            benchmarks[section.benchmark] = read_benchmark(cur, section.benchmark, tenant_id, grain)
        missing = [column for column in section.columns if column not in columns]
        if missing:
            plans.append(
                SectionData(section, False, f"not available: {section.table} has no column {', '.join(missing)}")
            )
            continue
        plan = plan_section(section, period, parameters)
        plans.append(plan)
        wanted, start, end = needs.get(section.source, ([], plan.start, plan.end))
        needs[section.source] = (
            list(dict.fromkeys([*wanted, *section.columns])),
            min(start, plan.start),
            max(end, plan.end),
        )
    rows_by_source = {
        source: select_rows(cur, source, columns, tenant_id, start, end, period)
        for source, (columns, start, end) in needs.items()
    }
    shaped = [
        plan if isinstance(plan, SectionData) else shape_section(plan, rows_by_source[plan.section.source], period)
        for plan in plans
    ]
    for data in shaped:
        if data.available and data.section.benchmark:
            data.rows = (
                benchmark_rows(data.rows, data.period_numbers, benchmarks[data.section.benchmark]) if data.rows else []
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
    columns = existing_columns(cur, TENANTS_TABLE)
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
        columns = existing_columns(cur, check.table)
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
