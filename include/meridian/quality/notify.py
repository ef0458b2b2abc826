"""E-mail the high and critical data-quality alerts to operations, once each.

:func:`notify_alerts` sends one summary message of every alert in
``audit.data_quality_alerts`` with severity ``high`` or ``critical`` that is
not resolved and not yet notified (``notified_at`` null) to
``settings().ops_email`` (``MERIDIAN_OPS_EMAIL``, default
``ops@meridian.local``) over the ``smtp_reports`` connection
(:mod:`meridian.smtp`), then sets their ``notified_at``.

Once per alert: lock, send, mark, commit, in one transaction
    1. ``select ... for update skip locked`` the alerts to send (a concurrent
       call skips them, so two runs never mail the same alert);
    2. send the message while holding the locks;
    3. ``update ... set notified_at`` for exactly the locked alerts and commit.

    If sending fails the transaction rolls back: nothing is marked and the
    error propagates, so a task retry sends them (nothing went out before).
    A call after a successful one finds nothing to send. The one window left
    is a crash (or a lost database connection) between the SMTP server's
    acceptance and the commit: the next call sends those alerts again. For
    operations mail a rare duplicate is preferred to a lost alert; the
    message's Message-ID depends only on the alert ids it lists, so the
    duplicate has the same Message-ID and mail clients can fold it. The same
    goes for a connection that breaks after the content went out (the
    server's outcome is unknown): the alerts stay unmarked and are resent.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate

import psycopg2.extensions

from meridian.config import SMTP_CONN_ID, settings
from meridian.warehouse.alerts import NOTIFY_SEVERITIES

log = logging.getLogger(__name__)

MAX_LISTED = 200  # alerts listed in one message body; all of them are marked notified
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _select_sql(as_of: date | None, nodes: Sequence[str] | None = None) -> tuple[str, tuple]:
    sql = """
        select alert_id, alert_type, severity, table_name, column_name, tenant_id, as_of_date, message,
               threshold, actual_value, detected_at
        from audit.data_quality_alerts
        where notified_at is null
          and severity = any(%s)
          and not is_resolved
    """
    params: tuple = (list(NOTIFY_SEVERITIES),)
    if as_of is not None:
        sql += " and (as_of_date is null or as_of_date <= %s)"
        params += (as_of,)
    if nodes is not None:
        # dbt alerts' dedup_key is <type>:<scope>:<node unique id>:<severity> (meridian.quality.dbt_results)
        sql += " and split_part(dedup_key, ':', 3) = any(%s)"
        params += (list(nodes),)
    return sql + " order by alert_id for update skip locked", params


def _line(row: tuple) -> str:
    alert_id, alert_type, severity, table_name, column_name, tenant_id, as_of_date, message, *_ = row
    where = ".".join(part for part in (table_name, column_name) if part) or "-"
    scope = ", ".join(part for part in (
        f"tenant {tenant_id}" if tenant_id else "", f"as of {as_of_date}" if as_of_date else "") if part)
    return f"[{severity}] #{alert_id} {alert_type} {where}{f' ({scope})' if scope else ''}\n    {message}"


def build_alert_message(rows: list[tuple], *, sender: str, recipient: str, as_of: date | None) -> EmailMessage:
    """The summary message for alert rows (as selected by :func:`notify_alerts`)."""
    rows = sorted(rows, key=lambda row: (SEVERITY_ORDER.get(row[2], 9), row[0]))
    counts = Counter(row[2] for row in rows)
    summary = ", ".join(f"{counts[severity]} {severity}" for severity in ("critical", "high") if counts[severity])
    ids = sorted(row[0] for row in rows)
    message = EmailMessage()
    message["Subject"] = (
        f"[Meridian] {len(rows)} data-quality alert{'s' if len(rows) != 1 else ''} ({summary})"
        f"{f' as of {as_of}' if as_of else ''}"
    )
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "meridian.local"
    digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12]
    message["Message-ID"] = f"<dq-alerts-{ids[0]}-{ids[-1]}-{digest}@{domain}>"
    message["X-Meridian-Alert-Ids"] = ",".join(map(str, ids[:MAX_LISTED]))
    lines = [
        f"{len(rows)} data-quality alert{'s' if len(rows) != 1 else ''} of severity high or critical "
        f"were raised{f' up to the as-of date {as_of}' if as_of else ''}:",
        "",
        *(_line(row) for row in rows[:MAX_LISTED]),
    ]
    if len(rows) > MAX_LISTED:
        lines += ["", f"... and {len(rows) - MAX_LISTED} more (ids up to {ids[-1]})."]
    lines += [
        "",
        "Every alert is a row of audit.data_quality_alerts (alert_id as above); set is_resolved = true once "
        "it is dealt with. Each alert is mailed once.",
        "",
        "— Meridian",
    ]
    message.set_content("\n".join(lines))
    return message


def notify_alerts(
    conn: psycopg2.extensions.connection,
    *,
    as_of: date | None = None,
    smtp_conn_id: str = SMTP_CONN_ID,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    nodes: Sequence[str] | None = None,
) -> int:
    """Mail every unresolved, not yet notified high/critical alert in one message; returns how many it sent.

    ``as_of``: only alerts of that as-of date or earlier (or without one), and
    the date in the subject. ``nodes``: only the alerts of these dbt nodes
    (unique ids; a model's task mails its model's and tests' alerts). Sends nothing and returns 0 when there is nothing
    to send. Commits ``conn`` (the lock-send-mark transaction of the module
    doc; do not call it with uncommitted work of your own). SMTP errors
    (:class:`meridian.smtp.SendError`, ``SmtpConfigError``) propagate
    after the rollback, with nothing marked; ``attempts`` and
    ``backoff_seconds`` are :func:`meridian.smtp.send_message`'s retries
    of transient SMTP failures within the call.
    """
    from meridian.smtp import send_message, smtp_settings

    was_autocommit = conn.autocommit
    conn.autocommit = False  # the row locks must live until the mark commits
    try:
        try:
            with conn.cursor() as cur:
                sql, params = _select_sql(as_of, nodes)
                cur.execute(sql, params)
                rows = cur.fetchall()
                if not rows:
                    conn.commit()
                    log.info("data-quality alerts: nothing to notify")
                    return 0
                smtp = smtp_settings(smtp_conn_id)
                recipient = settings().ops_email
                message = build_alert_message(rows, sender=smtp.from_email, recipient=recipient, as_of=as_of)
                used, refused = send_message(smtp, message, attempts=attempts, backoff_seconds=backoff_seconds)
                cur.execute(
                    "update audit.data_quality_alerts set notified_at = clock_timestamp() where alert_id = any(%s)",
                    ([row[0] for row in rows],),
                )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        conn.autocommit = was_autocommit
    if refused:
        log.warning("SMTP refused some recipients of the alert mail: %s", refused)
    log.info("data-quality alerts: %s mailed to %s (%s attempt(s)), %s", len(rows), recipient, used,
             message["Message-ID"])
    return len(rows)
