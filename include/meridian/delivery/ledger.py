"""The delivery's bookkeeping in ``reporting.scheduled_reports`` and ``reporting.report_deliveries``.

Every write commits on its own, in the order :mod:`meridian.delivery.deliver` describes
(claim, content handed over, sent or failed); the schedule is read and advanced under
the report's row lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg2.extensions

from meridian.delivery.validate import DeliveryRow, ScheduledReport
from meridian.reports.periods import Period, next_due
from meridian.smtp import SmtpSettings


@dataclass(kw_only=True, eq=False)
class DeliveryLedger:
    """The delivery's state in the reporting tables: the schedule, the claim, the outcome of each period.

    The connections and options of one call of deliver_due_reports; :class:`_Deliverer` adds the sending.
    """

    now: datetime
    lock_conn: psycopg2.extensions.connection
    write_conn: psycopg2.extensions.connection
    read_conn: psycopg2.extensions.connection
    smtp_conn_id: str
    out_dir: Path
    max_periods: int  # periods one report may catch up on in this call
    smtp_attempts: int
    smtp_backoff_seconds: float
    clock: Callable[[], datetime]
    report_ids: Sequence[int] | None = None
    _smtp: SmtpSettings | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.report_ids is not None:
            self.report_ids = sorted({int(report_id) for report_id in self.report_ids})

    # --- the schedule (lock_conn: one transaction per report, holding its row lock) ----------------

    def due_report_ids(self) -> list[int]:
        with self.lock_conn.cursor() as cur:
            cur.execute(
                """
                select id from reporting.scheduled_reports
                where is_active and next_run_at <= %s
                  and (%s::bigint[] is null or id = any(%s::bigint[]))
                order by next_run_at, id
                """,
                (self.now, self.report_ids, self.report_ids),
            )
            ids = [row[0] for row in cur.fetchall()]
        self.lock_conn.commit()
        return ids

    def lock_report(self, report_id: int) -> ScheduledReport | None:
        """Lock the schedule row for this call; None if it is no longer due or another run holds it."""
        with self.lock_conn.cursor() as cur:
            cur.execute(
                """
                select id, tenant_id, name, report_type, frequency, formats, recipients, parameters, next_run_at
                from reporting.scheduled_reports
                where id = %s and is_active and next_run_at <= %s
                for no key update skip locked
                """,
                (report_id, self.now),
            )
            row = cur.fetchone()
        if row is None:
            return None
        return ScheduledReport(*row[1:5], list(row[5] or []), list(row[6] or []), row[7], row[8], id=row[0])

    def advance(self, report: ScheduledReport, due_at: datetime) -> datetime:
        following = next_due(due_at, report.frequency)
        with self.lock_conn.cursor() as cur:
            cur.execute(
                """
                update reporting.scheduled_reports
                set last_run_at = %s, next_run_at = %s, updated_at = now()
                where id = %s
                """,
                (due_at, following, report.id),
            )
        return following

    # --- the delivery rows (write_conn: autocommit, every write commits on its own) ----------------

    def delivery_row(self, report_id: int, period: Period) -> DeliveryRow | None:
        with self.write_conn.cursor() as cur:
            cur.execute(
                """
                select status, data_sent_at, message_id, error from reporting.report_deliveries
                where report_id = %s and period_start = %s
                """,
                (report_id, period.start),
            )
            row = cur.fetchone()
        return DeliveryRow(*row) if row else None

    def claim(self, report_id: int, period: Period, files: Sequence[Path], mail_id: str) -> str | None:
        """Upsert the row as ``rendered`` before sending; returns the Message-ID to send under.

        That is the row's stored one when it has one (an earlier attempt's),
        else ``mail_id``; None when the row is ``sent``.
        """
        with self.write_conn.cursor() as cur:
            cur.execute(
                """
                insert into reporting.report_deliveries
                    (report_id, period_start, period_end, status, attempts, files, message_id)
                values (%s, %s, %s, 'rendered', 0, %s, %s)
                on conflict (report_id, period_start) do update
                set period_end = excluded.period_end, status = 'rendered', files = excluded.files,
                    message_id = coalesce(reporting.report_deliveries.message_id, excluded.message_id),
                    error = null, updated_at = now()
                where reporting.report_deliveries.status <> 'sent'
                returning message_id
                """,
                (report_id, period.start, period.end, [str(path) for path in files], mail_id),
            )
            row = cur.fetchone()
            return row[0] if row else None

    def mark_data_sent(self, report_id: int, period: Period) -> None:
        """Record that the content is about to go out (the server may hold it from now on)."""
        with self.write_conn.cursor() as cur:
            cur.execute(
                """
                update reporting.report_deliveries
                set data_sent_at = clock_timestamp(), data_sends = data_sends + 1, updated_at = now()
                where report_id = %s and period_start = %s and status = 'rendered'
                returning id
                """,
                (report_id, period.start),
            )
            if cur.fetchone() is None:
                raise RuntimeError(f"delivery row of report {report_id} for {period.start} is no longer 'rendered'")

    def handovers(self, report_id: int, period: Period) -> int:
        """How many times the period's content went to the SMTP server (``data_sends``)."""
        with self.write_conn.cursor() as cur:
            cur.execute(
                "select data_sends from reporting.report_deliveries where report_id = %s and period_start = %s",
                (report_id, period.start),
            )
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def mark_sent(self, report_id: int, period: Period, attempts: int, note: str | None) -> None:
        with self.write_conn.cursor() as cur:
            cur.execute(
                """
                update reporting.report_deliveries
                set status = 'sent', sent_at = clock_timestamp(), attempts = attempts + %s, error = %s,
                    updated_at = now()
                where report_id = %s and period_start = %s
                """,
                (attempts, note, report_id, period.start),
            )

    def mark_failed(
        self, report_id: int, period: Period, error: str, attempts: int = 0, *, refused_by_server: bool = False
    ) -> None:
        """Upsert the row as ``failed``; ``refused_by_server`` clears ``data_sent_at`` (the server replied no)."""
        with self.write_conn.cursor() as cur:
            cur.execute(
                """
                insert into reporting.report_deliveries
                    (report_id, period_start, period_end, status, attempts, error)
                values (%s, %s, %s, 'failed', %s, %s)
                on conflict (report_id, period_start) do update
                set status = 'failed', attempts = reporting.report_deliveries.attempts + excluded.attempts,
                    error = excluded.error, updated_at = now(),
                    data_sent_at = case when %s then null else reporting.report_deliveries.data_sent_at end
                where reporting.report_deliveries.status <> 'sent'
                """,
                (report_id, period.start, period.end, attempts, error, refused_by_server),
            )
