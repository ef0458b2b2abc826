"""Managing scheduled reports: create, list, pause/resume, run now, render ad hoc (``meridian reports``).

The functions here take plain values (no argparse) so they can be tested and
reused. A bad value raises :class:`~meridian.reports.registry.ReportConfigError`
naming the field *before* anything is written; an unknown report id raises
:class:`ReportNotFoundError`. A tenant must be an organization the warehouse
has landed (:mod:`meridian.warehouse.tenants`), a name at most
:data:`MAX_NAME_LENGTH` characters without control characters, and every
date (first run, period, as-of) within 2000–2100
(:data:`~meridian.reports.periods.EARLIEST_DATE` ..
:data:`~meridian.reports.periods.LATEST_DATE`).

``run_now`` goes through :func:`meridian.delivery.deliver.deliver_due_reports`
restricted to one report, so the due and exactly-once rules are the scheduled
run's: the periods due at ``now`` are delivered oldest first, a period already
sent is not sent again, and ``next_run_at`` is never moved forward by hand
(which would skip periods). ``render_adhoc`` only reads the marts and writes
files: nothing is sent or recorded. ``resolve_delivery`` settles a delivery
by hand: a person who found that a handed-over message arrived marks it sent
(the delivery would otherwise resend it under the same Message-ID, see
:mod:`meridian.delivery.deliver`), or asks for a period to be sent again.

"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg2.errors
import psycopg2.extensions
from psycopg2.extras import Json

from meridian.delivery.validate import ReportSettings, ScheduledReport, validate_recipients
from meridian.reports.periods import (
    EARLIEST_DATE,
    LATEST_DATE,
    as_utc,
    check_frequency,
    check_in_range,
    month_start,
)
from meridian.reports.registry import ReportConfigError, get_report_type
from meridian.reports.render import check_formats
from meridian.values import shown
from meridian.warehouse.reporting import ensure_reporting_schema
from meridian.warehouse.tenants import UnknownTenantError, check_tenant

MAX_NAME_LENGTH = 200
EARLIEST_DATE_TEXT = EARLIEST_DATE.isoformat()
LATEST_DATE_TEXT = LATEST_DATE.isoformat()


class ReportNotFoundError(LookupError):
    """No scheduled report has this id."""

    def __init__(self, report_id: int) -> None:
        super().__init__(f"no scheduled report with id {report_id}")
        self.report_id = report_id


@dataclass(frozen=True)
class ReportRow(ScheduledReport):
    """A row of reporting.scheduled_reports: the report's settings and id, and its bookkeeping."""

    last_run_at: datetime | None
    is_active: bool
    updated_at: datetime


COLUMN_NAMES = (
    "id", "tenant_id", "name", "report_type", "frequency", "formats", "recipients", "parameters",
    "last_run_at", "next_run_at", "is_active", "updated_at",
)
COLUMNS = ", ".join(COLUMN_NAMES)


def report_row(values: Sequence[Any]) -> ReportRow:
    row = dict(zip(COLUMN_NAMES, values, strict=True))
    row["formats"] = list(row["formats"] or [])
    row["recipients"] = list(row["recipients"] or [])
    row["parameters"] = row["parameters"] if row["parameters"] is not None else {}
    return ReportRow(**row)


# --- parsing and validation -----------------------------------------------------------------------


def split_list(value: str | Sequence[str] | None) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]``; a list is stripped item by item; empties are dropped."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def parse_parameters(value: str | dict[str, Any] | None) -> dict[str, Any]:
    """A JSON object (text or dict); raises :class:`ReportConfigError` naming ``parameters``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ReportConfigError("parameters", f"{value!r} is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ReportConfigError("parameters", f"must be a JSON object, got {json.dumps(value)}")
    return value


def parse_moment(value: str | date | datetime | None, field_name: str) -> datetime | None:
    """``YYYY-MM-DD`` (00:00 UTC) or an ISO date-time (naive = UTC) → aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    try:
        if len(value.strip()) == 10:
            return datetime.combine(date.fromisoformat(value.strip()), time.min, tzinfo=UTC)
        return as_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise ReportConfigError(field_name, f"{shown(value)} is not a date (YYYY-MM-DD) or ISO date-time") from None
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
        raise ReportConfigError(
            field_name, f"{shown(value)} is outside {EARLIEST_DATE_TEXT} .. {LATEST_DATE_TEXT}"
        ) from None


def check_name(name: str | None) -> str:
    """A report name: not empty, at most :data:`MAX_NAME_LENGTH` characters, no control characters (it is a subject)."""
    name = (name or "").strip()
    if not name:
        raise ReportConfigError("name", "is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ReportConfigError("name", f"{shown(name)} is {len(name)} characters long; at most {MAX_NAME_LENGTH}")
    for position, character in enumerate(name, start=1):
        if unicodedata.category(character) in ("Cc", "Zl", "Zp"):  # newlines, tabs, NUL
            raise ReportConfigError(
                "name", f"{shown(name)} has a control character ({character!r} at position {position})"
            )
    return name


def check_known_tenant(conn: psycopg2.extensions.connection, tenant: str | None) -> str:
    """``tenant`` stripped, when the warehouse has landed its organization; :class:`ReportConfigError` otherwise."""
    tenant = (tenant or "").strip()
    if not tenant:
        raise ReportConfigError("tenant_id", "is empty")
    try:
        return check_tenant(conn, tenant)
    except UnknownTenantError as exc:
        raise ReportConfigError("tenant_id", str(exc)) from None


def check_out_dir(out_dir: Path | str) -> Path:
    """The folder files go to: an existing folder, or one that can be created (it is created)."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ReportConfigError("out", f"{str(path)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportConfigError("out", f"cannot create the folder {str(path)!r}: {exc.strerror}") from None
    return path


def next_period_boundary(now: datetime, frequency: str) -> datetime:
    """The first period boundary strictly after ``now`` (UTC): next midnight, next Monday, next 1st of a month."""
    check_frequency(frequency)
    now = as_utc(now)
    today = datetime.combine(now.date(), time.min, tzinfo=UTC)
    if frequency == "daily":
        return today + timedelta(days=1)
    if frequency == "weekly":
        return today + timedelta(days=7 - now.weekday())  # Monday 00:00; a Monday gives the next Monday
    return datetime.combine(month_start(now.date(), 1), time.min, tzinfo=UTC)


# a report to schedule: its settings, checked (validate_new_report); the table gives it its id
NewReport = ReportSettings


def validate_new_report(
    *,
    tenant: str,
    name: str,
    report_type: str,
    frequency: str,
    formats: str | Sequence[str],
    recipients: str | Sequence[str],
    parameters: str | dict[str, Any] | None = None,
    first_run: str | date | datetime | None = None,
    now: datetime | None = None,
) -> NewReport:
    """Every field checked with the registry's validators; raises :class:`ReportConfigError` naming the first bad one."""
    tenant = (tenant or "").strip()
    if not tenant:
        raise ReportConfigError("tenant_id", "is empty")
    name = check_name(name)
    kind = get_report_type(report_type)
    check_frequency(frequency)
    format_list = check_formats(split_list(formats))
    recipient_list = validate_recipients(split_list(recipients))
    params = parse_parameters(parameters)
    kind.resolve_parameters(params)
    next_run_at = parse_moment(first_run, "first_run")
    if next_run_at is not None:
        check_in_range(next_run_at, "first_run", first_run)
    else:
        next_run_at = next_period_boundary(now or datetime.now(UTC), frequency)
    return NewReport(tenant, name, kind.name, frequency, format_list, recipient_list, params, next_run_at)


# --- the schedule table -----------------------------------------------------------------------------


def create_report(conn: psycopg2.extensions.connection, report: NewReport) -> int:
    """Insert a validated report of a known tenant; returns its id (the caller commits)."""
    check_known_tenant(conn, report.tenant_id)
    ensure_reporting_schema(conn)
    with conn.cursor() as cur:
        cur.execute(
            """
            insert into reporting.scheduled_reports
                (tenant_id, name, report_type, frequency, formats, recipients, parameters, next_run_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            returning id
            """,
            (
                report.tenant_id,
                report.name,
                report.report_type,
                report.frequency,
                report.formats,
                report.recipients,
                Json(report.parameters),
                report.next_run_at,
            ),
        )
        return cur.fetchone()[0]


def list_reports(
    conn: psycopg2.extensions.connection, *, tenant: str | None = None, include_paused: bool = False
) -> list[ReportRow]:
    """The scheduled reports, by tenant then id; paused ones only with ``include_paused``.

    A ``tenant`` must be known (an unknown one is refused, not listed as having no reports).
    """
    if tenant is not None:
        tenant = check_known_tenant(conn, tenant)
    ensure_reporting_schema(conn)
    with conn.cursor() as cur:
        cur.execute(
            f"""
            select {COLUMNS} from reporting.scheduled_reports
            where (%(tenant)s::text is null or tenant_id = %(tenant)s)
              and (%(all)s or is_active)
            order by tenant_id, id
            """,
            {"tenant": tenant, "all": include_paused},
        )
        return [report_row(values) for values in cur.fetchall()]


def get_report(conn: psycopg2.extensions.connection, report_id: int) -> ReportRow:
    ensure_reporting_schema(conn)
    with conn.cursor() as cur:
        cur.execute(f"select {COLUMNS} from reporting.scheduled_reports where id = %s", (report_id,))
        values = cur.fetchone()
    if values is None:
        raise ReportNotFoundError(report_id)
    return report_row(values)


def set_active(conn: psycopg2.extensions.connection, report_id: int, active: bool) -> ReportRow:
    """Pause (``False``) or resume (``True``) a report; returns the updated row.

    Resuming keeps ``next_run_at``: periods that fell due while the report was
    paused are delivered by the next run, oldest first (nothing is skipped).
    """
    ensure_reporting_schema(conn)
    with conn.cursor() as cur:
        cur.execute(
            f"""
            update reporting.scheduled_reports set is_active = %s, updated_at = now()
            where id = %s
            returning {COLUMNS}
            """,
            (active, report_id),
        )
        values = cur.fetchone()
    if values is None:
        raise ReportNotFoundError(report_id)
    return report_row(values)


def when_text(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def format_table(rows: Sequence[ReportRow]) -> str:
    """A plain-text table of the reports (or a line saying there are none)."""
    if not rows:
        return "no scheduled reports"
    header = ("id", "tenant", "name", "type", "frequency", "formats", "recipients", "next_run_at", "active")
    body = [
        (
            str(row.id),
            row.tenant_id,
            row.name,
            row.report_type,
            row.frequency,
            ",".join(row.formats),
            ",".join(row.recipients),
            when_text(row.next_run_at),
            "yes" if row.is_active else "paused",
        )
        for row in rows
    ]
    widths = [max(len(line[index]) for line in (header, *body)) for index in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
             for line in (header, *body)]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# --- run now ----------------------------------------------------------------------------------------
