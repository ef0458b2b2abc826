"""The data-quality step of the transform DAG: the SQL checks, then mail for high/critical alerts."""

from __future__ import annotations

import logging
from datetime import date

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID

log = logging.getLogger(__name__)


def check_and_notify(as_of: date, conn_id: str = WAREHOUSE_CONN_ID) -> dict:
    from meridian.quality.checks import run_data_quality_checks
    from meridian.quality.notify import notify_alerts

    with db.connection(conn_id) as conn:
        alerts = run_data_quality_checks(conn, as_of)
    with db.connection(conn_id) as conn:
        notified = notify_alerts(conn, as_of=as_of)
    by_type: dict[str, int] = {}
    for alert in alerts:
        by_type[alert.alert_type] = by_type.get(alert.alert_type, 0) + 1
    log.info("data quality at %s: %s alert(s) %s; %s emailed", as_of, len(alerts), by_type, notified)
    return {"alerts": len(alerts), "by_type": by_type, "notified": notified}
