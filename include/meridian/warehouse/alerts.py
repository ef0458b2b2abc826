"""audit.data_quality_alerts: one place that records an alert.

Every producer calls :func:`record_alert` (or :func:`record_alerts`):
dbt test failures and source freshness (:mod:`meridian.quality.dbt_results`),
quarantine share, new event types and volume anomalies
(:mod:`meridian.quality.checks`), source schema drift
(:mod:`meridian.extract.drift`), failed report deliveries
(:mod:`meridian.delivery.deliver`). ``dedup_key`` makes raising the same alert
again (a retried task, a rerun of the same as-of date) a no-op: the first row
stays. High and critical alerts are mailed to operations once each by
:mod:`meridian.quality.notify` (``notified_at``).

It sits with the warehouse objects, below the pipeline steps, because the
extract, transform, quality and delivery steps all record alerts
(docs/architecture.md, "The Python package").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import psycopg2.extensions

# the check constraint in meridian.warehouse.audit_tables.AUDIT_DDL lists the same types
ALERT_TYPES = (
    "missing_data", "data_spike", "data_drop", "freshness", "test_failure", "new_event_type", "quarantine",
    "schema_change",
)
SEVERITIES = ("low", "medium", "high", "critical")
NOTIFY_SEVERITIES = ("high", "critical")


@dataclass(frozen=True)
class Alert:
    alert_type: str
    message: str
    severity: str
    table_name: str | None = None
    column_name: str | None = None
    threshold: float | None = None
    actual_value: float | None = None
    tenant_id: str | None = None
    as_of_date: date | None = None
    dedup_key: str | None = None

    def __post_init__(self) -> None:
        if self.alert_type not in ALERT_TYPES:
            raise ValueError(f"alert_type must be one of {', '.join(ALERT_TYPES)}; got {self.alert_type!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}; got {self.severity!r}")


def record_alert(conn: psycopg2.extensions.connection, alert: Alert) -> int | None:
    """Insert ``alert``; returns its alert_id, or None when an alert with the same dedup_key exists."""
    with conn.cursor() as cur:
        cur.execute(
            """
            insert into audit.data_quality_alerts
                (alert_type, table_name, column_name, message, severity, threshold, actual_value,
                 tenant_id, as_of_date, dedup_key)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (dedup_key) where dedup_key is not null do nothing
            returning alert_id
            """,
            (
                alert.alert_type, alert.table_name, alert.column_name, alert.message, alert.severity,
                alert.threshold, alert.actual_value, alert.tenant_id, alert.as_of_date, alert.dedup_key,
            ),
        )
        row = cur.fetchone()
    return row[0] if row else None


def record_alerts(conn: psycopg2.extensions.connection, alerts: Iterable[Alert]) -> int:
    """Record each of ``alerts`` (:func:`record_alert`); returns how many were new. Does not commit."""
    return sum(1 for alert in alerts if record_alert(conn, alert) is not None)
