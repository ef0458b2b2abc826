"""Reports now rather than on schedule: run-now (deliver one report's due periods), resolve a
delivery whose outcome is unknown (resend or mark sent), render a period without sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg2.errors
import psycopg2.extensions

from meridian.config import WAREHOUSE_CONN_ID
from meridian.db import connection
from meridian.delivery.deliver import deliver_due_reports
from meridian.delivery.manage import (
    ReportRow,
    check_known_tenant,
    check_out_dir,
    get_report,
    parse_parameters,
    split_list,
)
from meridian.delivery.validate import DeliveryResult
from meridian.reports.data import freshness_gap, load_report_data
from meridian.reports.periods import (
    Period,
    as_utc,
    check_frequency,
    check_in_range,
    month_start,
    period_for,
)
from meridian.reports.registry import ReportConfigError, get_report_type
from meridian.reports.render import check_formats, render_report
from meridian.values import shown


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
            # the message reached the server: the delivery is sent as of then
            assignments, why = "status = 'sent', sent_at = data_sent_at", "marked sent by hand"
            done = f"{the_period.label} of scheduled report {report_id} marked sent ({mail_id}); the next run moves on"
        else:
            assignments, why = "status = 'failed', data_sent_at = null", "resend requested by hand"
            done = f"{the_period.label} of scheduled report {report_id} will be sent again by the next run"
        cur.execute(
            f"""
            update reporting.report_deliveries
            set {assignments}, updated_at = now(),
                error = %s || coalesce(error, status)
            where report_id = %s and period_start = %s
            """,
            (f"{why} (meridian reports resolve) after: ", report_id, the_period.start),
        )
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
