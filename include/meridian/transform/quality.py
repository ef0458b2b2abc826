"""The data-quality step of the transform DAG: the SQL checks, then mail for high/critical alerts."""

from __future__ import annotations

import logging
from datetime import date

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID

log = logging.getLogger(__name__)


def check_and_notify(as_of: date, conn_id: str = WAREHOUSE_CONN_ID) -> dict:
    """Run the checks (alerts recorded) and mail the high/critical alerts not mailed yet.

    A mail server that cannot be reached does not fail the run: the alerts are
    recorded, stay un-notified (``notified_at`` null) and go out with the next
    run's mail; the failure is logged as a warning and returned.
    """
    from meridian.quality.checks import run_data_quality_checks
    from meridian.quality.notify import notify_alerts
    from meridian.smtp import SendError, SmtpConfigError

    with db.connection(conn_id) as conn:
        alerts = run_data_quality_checks(conn, as_of)
    notify_error = None
    notified = 0
    try:
        with db.connection(conn_id) as conn:
            notified = notify_alerts(conn, as_of=as_of)
    except (SendError, SmtpConfigError, OSError) as exc:
        notify_error = str(exc)
        log.warning("alert mail not sent (the alerts stay recorded and go out with the next run): %s", exc)
    by_type: dict[str, int] = {}
    for alert in alerts:
        by_type[alert.alert_type] = by_type.get(alert.alert_type, 0) + 1
    log.info("data quality at %s: %s alert(s) %s; %s emailed", as_of, len(alerts), by_type, notified)
    return {"alerts": len(alerts), "by_type": by_type, "notified": notified, "notify_error": notify_error}
