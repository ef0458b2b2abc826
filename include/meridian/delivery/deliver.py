"""Deliver the scheduled reports that are due: render, e-mail, record.

``deliver_due_reports(now)`` takes ``now`` from the caller (the DAG run's
logical time, or ``run_after`` for asset-triggered runs), never from the wall
clock, so a rerun of a past run decides the same things. The wall clock only
stamps what really happened: the PDF's "Generated" line, the e-mail's Date
header and ``sent_at``.

Due and periods
    A report is due when ``is_active`` and ``next_run_at <= now``. The report
    due at ``next_run_at`` covers the period that ends there
    (:mod:`meridian.reports.periods`: monthly due 2024-04-01 → March 2024;
    weekly → the 7 days before; daily → the day before). After a period is
    delivered (or found already sent), ``last_run_at`` becomes that due time
    and ``next_run_at`` moves on by the frequency; missed periods are caught
    up oldest first, at most ``max_periods_per_report`` per call (the next run
    continues).

Exactly once per (report, period)
    ``report_deliveries`` has one row per (report_id, period_start). Every
    write to it commits on its own, in this order:

    1. the files are rendered and the row is upserted as ``rendered`` with the
       message's ``message_id``: the claim. The Message-ID is fixed per
       (report, period) (:func:`meridian.delivery.message.message_id`) and, once a
       row holds one, that stored one is used for every later attempt and
       resend, whatever the sender's address has become since;
    2. the SMTP session opens (MAIL, RCPT, DATA); just before the message's
       content goes out, ``data_sent_at`` is set and ``data_sends`` counts one
       more hand-over;
    3. on the server's 250 reply the row becomes ``sent`` with ``sent_at``.

    **Resend rule**: a period is sent until its row is ``sent``, always under
    its one Message-ID:

    - a ``sent`` row is never sent again; the schedule just moves on;
    - no row, or a ``rendered``/``failed`` row with ``data_sent_at`` null: the
      content never went out, or the server refused it with a reply (4xx/5xx),
      so it is rendered and sent (again). This covers an attempt killed before
      step 2, an SMTP server that was down, a bad recipient fixed since;
    - a row with ``data_sent_at`` set that is not ``sent``: an attempt was
      killed, or the connection broke, after the content went out and before
      ``sent`` was recorded. The server may have accepted it (it may even have
      replied 250 just before the kill), so it is **resent with the same
      Message-ID** (read from the row): a receiving system that keeps the
      first copy of a Message-ID drops the second, and nothing is lost. The
      row ends ``sent`` once, with ``data_sends`` > 1 and a note naming the
      Message-ID; a person who knows the first copy arrived and wants no
      second can run ``meridian reports resolve ID --period P --mark-sent``
      before the next run.

    Within one call, SMTP failures before the content goes out, 4xx replies to
    it, and a connection broken after it are retried with exponential backoff
    (:func:`meridian.smtp.send_message`), the same message each time. A
    period that still fails is ``failed`` and raises a data-quality alert
    (``audit.data_quality_alerts``, type ``missing_data``, table
    ``reporting.report_deliveries``, severity high, one per (report, period):
    ``dedup_key`` ``delivery:<id>:<period_start>``); the next run retries it
    and the schedule does not move on until it is sent.

    Each report is processed under a row lock on its ``scheduled_reports`` row
    (``for no key update skip locked``): the lock is the claim's lease. Two runs
    at once (a scheduled one and ``run-now``) never deliver the same report
    concurrently, and a killed run's lock ends with its database session, so a
    ``rendered`` row seen under the lock is known to be a dead attempt's.

Validation
    ``report_type``, ``formats``, ``recipients`` (a simple e-mail pattern) and
    ``parameters`` (per report type, :mod:`meridian.reports.registry`) are
    checked per report; an invalid report gets a ``failed`` row whose error
    names the bad field, and the others still go out.

Waiting for the marts
    A report type may name a freshness check (revenue_summary:
    ``marts.fct_daily_kpis.kpi_date``); while the marts stop before the
    period's last day for the tenant the report waits (no row written, nothing
    sent) and a later run delivers it. The 15-minute schedule can fire before
    the nightly build has covered the day; the marts asset then triggers the
    delivery once it has.

Failures
    A failed period does not stop the other reports. :class:`DeliveryResult`
    says whether a failure is worth an Airflow task retry (``retryable``: SMTP
    or database trouble) or needs a configuration fix.

"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2.extensions

from meridian.config import SMTP_CONN_ID, WAREHOUSE_CONN_ID, settings
from meridian.db import connect
from meridian.delivery.ledger import DeliveryLedger
from meridian.delivery.message import build_message, message_id
from meridian.delivery.schema import ensure_delivery_schema
from meridian.delivery.validate import (
    ALERT_TABLE,
    ALREADY_SENT,
    FAILED,
    SENT,
    WAITING,
    DeliveryResult,
    ScheduledReport,
    report_folder,
    validate_report,
)
from meridian.reports.data import freshness_gap, load_report_data
from meridian.reports.model import ReportConfigError
from meridian.reports.periods import Period, as_utc, period_for
from meridian.reports.render import render_report
from meridian.smtp import SendError, SmtpConfigError, SmtpSettings, send_message, smtp_settings
from meridian.warehouse.alerts import Alert, record_alert

log = logging.getLogger(__name__)


class _Deliverer(DeliveryLedger):
    """One call of deliver_due_reports: its connections, SMTP settings and options."""

    def alert(self, report: ScheduledReport, period: Period, error: str, *, severity: str = "high",
              kind: str = "") -> None:
        """A data-quality alert for this (report, period); raised once (``dedup_key``), never fails the delivery."""
        alert = Alert(
            alert_type="missing_data",
            table_name=ALERT_TABLE,
            severity=severity,
            message=(
                f"scheduled report {report.id} ({report.name!r}, {report.report_type}, tenant {report.tenant_id}) "
                f"for {period.label} ({period.start}..{period.end}): {error}"
            ),
            tenant_id=report.tenant_id,
            as_of_date=period.end,
            dedup_key=f"delivery:{report.id}:{period.start.isoformat()}{f':{kind}' if kind else ''}",
        )
        try:
            record_alert(self.write_conn, alert)
        except psycopg2.Error:
            log.exception("could not record the alert for report %s, period %s", report.id, period.start)

    def fail(self, report: ScheduledReport, period: Period, error: str, **kwargs: Any) -> None:
        self.mark_failed(report.id, period, error, **kwargs)
        self.alert(report, period, error)

    # --- one report ---------------------------------------------------------------------------------

    def smtp(self) -> SmtpSettings:
        if self._smtp is None:
            self._smtp = smtp_settings(self.smtp_conn_id)
        return self._smtp

    def deliver_report(self, report_id: int) -> list[DeliveryResult]:
        report = self.lock_report(report_id)
        if report is None:
            self.lock_conn.rollback()
            log.info("scheduled report %s is no longer due or another run is delivering it; skipped", report_id)
            return []
        results: list[DeliveryResult] = []
        try:
            due_at = as_utc(report.next_run_at)
            for _ in range(self.max_periods):
                if due_at > self.now:
                    break
                result = self.deliver_period(report, due_at)
                results.append(result)
                if result.status not in (SENT, ALREADY_SENT):
                    break
                due_at = self.advance(report, due_at)
            self.lock_conn.commit()
        except Exception as exc:
            self.lock_conn.rollback()
            log.exception("delivering scheduled report %s failed", report.id)
            results.append(
                DeliveryResult(
                    report.id, report.tenant_id, FAILED, error=f"{type(exc).__name__}: {exc}", retryable=True
                )
            )
        return results

    def deliver_period(self, report: ScheduledReport, due_at: datetime) -> DeliveryResult:
        try:
            period = period_for(due_at, report.frequency)
        except ReportConfigError as exc:
            return DeliveryResult(report.id, report.tenant_id, FAILED, error=f"invalid {exc}")

        def result(status: str, **kwargs: Any) -> DeliveryResult:
            return DeliveryResult(report.id, report.tenant_id, status, period.start, period.end, **kwargs)

        row = self.delivery_row(report.id, period)
        if row is not None and row.status == SENT:
            log.info("report %s for %s was sent before; not sending again", report.id, period.label)
            return result(ALREADY_SENT)
        resend = row is not None and row.data_sent_at is not None
        if resend:
            log.warning(
                "report %s for %s: an earlier attempt handed message %s to the SMTP server at %s and stopped before "
                "recording it sent; sending it again under the same Message-ID",
                report.id, period.label, row.message_id, row.data_sent_at,
            )

        try:
            valid = validate_report(report)
        except ReportConfigError as exc:
            error = f"invalid {exc.field}: {exc.message} (scheduled report {report.id}, tenant {report.tenant_id!r})"
            self.fail(report, period, error)
            log.error("report %s for %s not sent: %s", report.id, period.label, error)
            return result(FAILED, error=error)
        try:
            smtp = self.smtp()
        except SmtpConfigError as exc:
            error = f"invalid SMTP connection {self.smtp_conn_id!r}: {exc}"
            self.fail(report, period, error)
            return result(FAILED, error=error)

        try:
            try:
                gap = freshness_gap(self.read_conn, valid.report_type, report.tenant_id, period)
                if gap:
                    log.info("report %s for %s waits for the marts: %s", report.id, period.label, gap)
                    return result(WAITING, error=f"waiting for the marts: {gap}")
                data = load_report_data(
                    self.read_conn,
                    valid.report_type,
                    report.tenant_id,
                    period,
                    valid.parameters,
                    generated_at=self.clock(),
                    report_name=report.name,
                    as_of=self.now,
                )
            finally:
                self.read_conn.rollback()  # end the read-only snapshot
            files = render_report(data, valid.formats, report_folder(self.out_dir, report, period))
            message = build_message(data, files, valid.recipients, sender=smtp.from_email, report_id=report.id)
        except (psycopg2.Error, OSError, ValueError) as exc:
            error = f"rendering failed: {type(exc).__name__}: {exc}"
            self.fail(report, period, error)
            log.exception("report %s for %s not rendered", report.id, period.label)
            return result(FAILED, error=error, retryable=True)

        mail_id = self.claim(
            report.id, period, files, message["Message-ID"] or message_id(report.id, period.start, smtp.from_email)
        )
        if mail_id is None:  # cannot happen under the row lock; be safe
            return result(FAILED, error="the delivery row changed under the lock; not sent", retryable=True)
        if message["Message-ID"] != mail_id:  # the row's Message-ID from an earlier attempt wins
            message.replace_header("Message-ID", mail_id)
        sent_files = tuple(map(str, files))
        try:
            attempts, refused = send_message(
                smtp,
                message,
                attempts=self.smtp_attempts,
                backoff_seconds=self.smtp_backoff_seconds,
                before_data=lambda: self.mark_data_sent(report.id, period),
            )
        except SendError as exc:
            if exc.outcome_unknown:  # the server may hold it: keep data_sent_at; the next run resends the same ID
                error = f"{exc}; the next run sends it again under the same Message-ID {mail_id}"
                self.fail(report, period, error, attempts=exc.attempts)
            else:
                error = str(exc)
                self.fail(report, period, error, attempts=exc.attempts, refused_by_server=True)
            log.error("report %s for %s not sent: %s", report.id, period.label, error)
            return result(FAILED, files=sent_files, recipients=tuple(valid.recipients), attempts=exc.attempts,
                          error=error, retryable=exc.retryable, resent=resend)
        notes = []
        if refused:
            notes.append(f"refused by the server: {', '.join(sorted(refused))}")
        handovers = self.handovers(report.id, period)
        if handovers > 1:
            notes.append(
                f"handed to the SMTP server {handovers} times under Message-ID {mail_id} (an earlier attempt stopped "
                "after handing it over and before recording it sent); a receiving system keeps one copy per Message-ID"
            )
        note = "; ".join(notes) or None
        self.mark_sent(report.id, period, attempts, note)
        if refused:
            self.alert(report, period, f"sent, but the SMTP server refused {', '.join(sorted(refused))}",
                       severity="medium", kind="refused")
        log.info(
            "report %s (%s) for %s sent to %s", report.id, report.tenant_id, period.label, ", ".join(valid.recipients)
        )
        return result(SENT, files=sent_files, recipients=tuple(valid.recipients), attempts=attempts, error=note,
                      refused=tuple(sorted(refused)), resent=handovers > 1)


def deliver_due_reports(
    now: datetime,
    *,
    warehouse_conn_id: str = WAREHOUSE_CONN_ID,
    smtp_conn_id: str = SMTP_CONN_ID,
    out_dir: Path | str | None = None,
    max_periods_per_report: int = 24,
    smtp_attempts: int = 3,
    smtp_backoff_seconds: float = 2.0,
    clock: Callable[[], datetime] | None = None,
    report_ids: Sequence[int] | None = None,
) -> list[DeliveryResult]:
    """Deliver every report due at ``now`` (the run's logical time); see the module docstring.

    ``report_ids`` (default: all) restricts the call to those scheduled reports
    (``meridian reports run-now``); the due and exactly-once rules are the same.

    Files go to ``out_dir`` (default ``settings().reports_dir``) under
    ``<tenant>/report-<id>/<period>/``. Returns one result per period handled,
    oldest first within a report. ``clock`` (default: the wall clock, UTC)
    only stamps the files' generation time. The reporting tables and the
    alerts table are created first if missing.
    """
    if now is None:
        raise ValueError("now is required: pass the DAG run's logical date (or run_after)")
    now = as_utc(now)
    target = Path(out_dir) if out_dir is not None else settings().reports_dir
    lock_conn = connect(warehouse_conn_id)
    write_conn = connect(warehouse_conn_id, autocommit=True)
    read_conn = connect(warehouse_conn_id)
    read_conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        ensure_delivery_schema(lock_conn)
        deliverer = _Deliverer(
            now=now,
            lock_conn=lock_conn,
            write_conn=write_conn,
            read_conn=read_conn,
            smtp_conn_id=smtp_conn_id,
            out_dir=target,
            max_periods=max(1, max_periods_per_report),
            smtp_attempts=smtp_attempts,
            smtp_backoff_seconds=smtp_backoff_seconds,
            clock=clock or (lambda: datetime.now(UTC)),
            report_ids=report_ids,
        )
        results: list[DeliveryResult] = []
        for report_id in deliverer.due_report_ids():
            results += deliverer.deliver_report(report_id)
        return results
    finally:
        for conn in (read_conn, write_conn, lock_conn):
            conn.close()


def run_time(
    logical_date: datetime | None, run_after: datetime | None, data_interval_end: datetime | None = None
) -> datetime:
    """The ``now`` of a DAG run: the end of its data interval, else its logical date, else ``run_after``.

    For this DAG's cron timetable and for ``airflow dags test deliver_reports
    DATE`` the three are the same moment (DATE); asset-triggered runs have no
    logical date and use ``run_after``.
    """
    moment = data_interval_end or logical_date or run_after
    if moment is None:
        raise ValueError("the DAG run has neither a data interval, a logical date nor run_after")
    return as_utc(moment)


def summarize(results: Sequence[DeliveryResult]) -> dict[str, Any]:
    """Counts by status and the failures, for the task's return value (XCom) and logs."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {
        "counts": counts,
        "failures": [result.as_dict() for result in results if result.status == FAILED],
        "retryable_failures": sum(1 for result in results if result.status == FAILED and result.retryable),
        "resent": sum(1 for result in results if result.status == SENT and result.resent),
    }
