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

``run_now`` goes through :func:`meridian.reports.delivery.deliver_due_reports`
restricted to one report, so the due and exactly-once rules are the scheduled
run's: the periods due at ``now`` are delivered oldest first, a period already
sent is not sent again, and ``next_run_at`` is never moved forward by hand
(which would skip periods). ``render_adhoc`` only reads the marts and writes
files: nothing is sent or recorded. ``resolve_delivery`` settles a delivery
by hand: a person who found that a handed-over message arrived marks it sent
(the delivery would otherwise resend it under the same Message-ID, see
:mod:`meridian.reports.delivery`), or asks for a period to be sent again.
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

from meridian.config import WAREHOUSE_CONN_ID
from meridian.db import connection
from meridian.reports.data import freshness_gap, load_report_data
from meridian.reports.delivery import DeliveryResult, deliver_due_reports, validate_recipients
from meridian.reports.periods import (
    EARLIEST_DATE,
    LATEST_DATE,
    Period,
    as_utc,
    check_frequency,
    check_in_range,
    month_start,
    period_for,
)
from meridian.reports.registry import ReportConfigError, get_report_type
from meridian.reports.render import check_formats, render_report
from meridian.reports.schema import ensure_reporting_schema
from meridian.values import shown
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
class ReportRow:
    id: int
    tenant_id: str
    name: str
    report_type: str
    frequency: str
    formats: list[str]
    recipients: list[str]
    parameters: dict[str, Any]
    last_run_at: datetime | None
    next_run_at: datetime
    is_active: bool
    updated_at: datetime


_COLUMNS = (
    "id, tenant_id, name, report_type, frequency, formats, recipients, parameters, "
    "last_run_at, next_run_at, is_active, updated_at"
)


def _row(values: Sequence[Any]) -> ReportRow:
    values = list(values)
    values[5] = list(values[5] or [])
    values[6] = list(values[6] or [])
    values[7] = values[7] if values[7] is not None else {}
    return ReportRow(*values)


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


@dataclass(frozen=True)
class NewReport:
    tenant_id: str
    name: str
    report_type: str
    frequency: str
    formats: list[str]
    recipients: list[str]
    parameters: dict[str, Any]
    next_run_at: datetime


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
            select {_COLUMNS} from reporting.scheduled_reports
            where (%(tenant)s::text is null or tenant_id = %(tenant)s)
              and (%(all)s or is_active)
            order by tenant_id, id
            """,
            {"tenant": tenant, "all": include_paused},
        )
        return [_row(values) for values in cur.fetchall()]


def get_report(conn: psycopg2.extensions.connection, report_id: int) -> ReportRow:
    ensure_reporting_schema(conn)
    with conn.cursor() as cur:
        cur.execute(f"select {_COLUMNS} from reporting.scheduled_reports where id = %s", (report_id,))
        values = cur.fetchone()
    if values is None:
        raise ReportNotFoundError(report_id)
    return _row(values)


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
            returning {_COLUMNS}
            """,
            (active, report_id),
        )
        values = cur.fetchone()
    if values is None:
        raise ReportNotFoundError(report_id)
    return _row(values)


def _when(moment: datetime | None) -> str:
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
            _when(row.next_run_at),
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


def run_now(
    report_id: int,
    *,
    now: datetime | None = None,
    warehouse_conn_id: str = WAREHOUSE_CONN_ID,
    out_dir: Path | str | None = None,
    **delivery_options: Any,
) -> tuple[ReportRow, list[DeliveryResult]]:
    """Deliver the periods of one report that are due at ``now`` (default: the wall clock), as a run would.

    Raises :class:`ReportNotFoundError` for an unknown id and
    :class:`ReportConfigError` (field ``is_active``) for a paused report.
    Returns the report as it was before the call and the delivery results
    (empty when nothing is due at ``now``).
    """
    moment = as_utc(now) if now is not None else datetime.now(UTC)
    check_in_range(moment, "as_of")
    if out_dir is not None:
        out_dir = check_out_dir(out_dir)
    with connection(warehouse_conn_id) as conn:
        report = get_report(conn, report_id)
    if not report.is_active:
        raise ReportConfigError("is_active", f"scheduled report {report_id} is paused; resume it first")
    results = deliver_due_reports(
        moment, warehouse_conn_id=warehouse_conn_id, out_dir=out_dir, report_ids=[report_id], **delivery_options
    )
    return report, results


RESEND = "resend"
MARK_SENT = "mark-sent"


def resolve_delivery(
    conn: psycopg2.extensions.connection, report_id: int, period: str, action: str
) -> tuple[ReportRow, Period, str]:
    """Settle a delivery that is not ``sent``: ``resend`` (the next run sends it) or ``mark-sent``.

    ``mark-sent`` is only for a delivery whose message was handed to the SMTP
    server (``data_sent_at`` set: it may have arrived) and that a person found
    arrived; the next run then moves the schedule on instead of resending it
    under the same Message-ID. ``resend`` clears
    ``data_sent_at`` so the next run (or ``run-now``) renders and sends the
    period again. Takes the report's row lock without waiting, so it never
    races a delivery run. Returns the report, the period and what was done
    (the caller commits).
    """
    if action not in (RESEND, MARK_SENT):
        raise ReportConfigError("action", f"{action!r} is not {RESEND} or {MARK_SENT}")
    report = get_report(conn, report_id)
    the_period = parse_period(period, report.frequency)
    with conn.cursor() as cur:
        try:
            cur.execute("select 1 from reporting.scheduled_reports where id = %s for no key update nowait", (report_id,))
        except psycopg2.errors.LockNotAvailable:
            raise ReportConfigError(
                "id", f"a delivery run is working on scheduled report {report_id} now; try again when it ends"
            ) from None
        cur.execute(
            """
            select status, data_sent_at, message_id from reporting.report_deliveries
            where report_id = %s and period_start = %s
            """,
            (report_id, the_period.start),
        )
        row = cur.fetchone()
        if row is None:
            raise ReportConfigError("period", f"scheduled report {report_id} has no delivery for {the_period.label}")
        status, data_sent_at, mail_id = row
        if status == "sent":
            raise ReportConfigError("period", f"{the_period.label} of scheduled report {report_id} was sent already")
        if action == MARK_SENT:
            if data_sent_at is None:
                raise ReportConfigError(
                    "period",
                    f"the message for {the_period.label} never reached the SMTP server; "
                    f"the next run sends it (or use --{RESEND})",
                )
            cur.execute(
                """
                update reporting.report_deliveries
                set status = 'sent', sent_at = data_sent_at, updated_at = now(),
                    error = 'marked sent by hand (meridian reports resolve) after: ' || coalesce(error, status)
                where report_id = %s and period_start = %s
                """,
                (report_id, the_period.start),
            )
            done = f"{the_period.label} of scheduled report {report_id} marked sent ({mail_id}); the next run moves on"
        else:
            cur.execute(
                """
                update reporting.report_deliveries
                set status = 'failed', data_sent_at = null, updated_at = now(),
                    error = 'resend requested by hand (meridian reports resolve) after: ' || coalesce(error, status)
                where report_id = %s and period_start = %s
                """,
                (report_id, the_period.start),
            )
            done = f"{the_period.label} of scheduled report {report_id} will be sent again by the next run"
    return report, the_period, done


def describe_result(result: DeliveryResult) -> str:
    period = f"{result.period_start}..{result.period_end}" if result.period_start else "-"
    line = f"report {result.report_id} ({result.tenant_id}) {period}: {result.status}"
    if result.recipients and result.status == "sent":
        line += f" to {', '.join(result.recipients)}"
    if result.error:
        line += f" — {result.error}"
    return line


# --- render ad hoc ----------------------------------------------------------------------------------


def parse_period(value: str, frequency: str) -> Period:
    """The period named by ``value`` for ``frequency``; raises :class:`ReportConfigError` naming ``period``.

    - monthly: ``YYYY-MM`` (or any ``YYYY-MM-DD`` in the month);
    - weekly: ``YYYY-MM-DD``, the first of the 7 days;
    - daily: ``YYYY-MM-DD``, the day.
    """
    check_frequency(frequency)
    text = (value or "").strip()
    try:
        if frequency == "monthly" and len(text) == 7:
            day = date.fromisoformat(f"{text}-01")
        else:
            day = date.fromisoformat(text)
    except ValueError:
        shape = "YYYY-MM" if frequency == "monthly" else "YYYY-MM-DD"
        raise ReportConfigError("period", f"{shown(value)} is not a {frequency} period ({shape})") from None
    check_in_range(day, "period", value)
    if frequency == "monthly":
        due = month_start(day, 1)
    elif frequency == "weekly":
        due = day + timedelta(days=7)
    else:
        due = day + timedelta(days=1)
    return period_for(datetime.combine(due, time.min, tzinfo=UTC), frequency)


@dataclass(frozen=True)
class RenderResult:
    period: Period
    files: list[Path]
    warning: str | None  # the marts do not cover the period yet for the tenant


def render_adhoc(
    *,
    tenant: str,
    report_type: str,
    period: str,
    out_dir: Path | str,
    frequency: str = "monthly",
    formats: str | Sequence[str] = ("pdf", "csv", "xlsx", "html"),
    parameters: str | dict[str, Any] | None = None,
    name: str | None = None,
    warehouse_conn_id: str = WAREHOUSE_CONN_ID,
) -> RenderResult:
    """Render one report for any tenant and period into ``out_dir``; reads the marts only, sends and records nothing."""
    tenant = (tenant or "").strip()
    if not tenant:
        raise ReportConfigError("tenant_id", "is empty")
    kind = get_report_type(report_type)
    the_period = parse_period(period, frequency)
    format_list = check_formats(split_list(formats))
    resolved = kind.resolve_parameters(parse_parameters(parameters))
    with connection(warehouse_conn_id) as conn:
        conn.set_session(readonly=True)
        check_known_tenant(conn, tenant)
        out = check_out_dir(out_dir)
        warning = freshness_gap(conn, kind, tenant, the_period)
        data = load_report_data(
            conn, kind, tenant, the_period, resolved, generated_at=datetime.now(UTC), report_name=name
        )
    files = render_report(data, format_list, out)
    return RenderResult(the_period, files, warning)
