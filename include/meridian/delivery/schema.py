"""The tables delivery writes to, and the demo's schedules.

The ``reporting`` tables themselves are warehouse objects
(:mod:`meridian.warehouse.reporting`, created by the bootstrap);
:func:`ensure_delivery_schema` makes sure they and ``audit.data_quality_alerts``
exist before ``deliver_reports`` runs on a warehouse no extract has prepared.
"""

from __future__ import annotations

from datetime import datetime

import psycopg2.extensions
from psycopg2.extras import Json

from meridian.warehouse.audit_tables import AUDIT_DDL
from meridian.warehouse.reporting import ensure_reporting_schema


def ensure_delivery_schema(conn: psycopg2.extensions.connection) -> None:
    """The reporting tables and ``audit.data_quality_alerts`` (where failed deliveries raise alerts).

    The audit tables come from :mod:`meridian.warehouse.bootstrap` (created by
    every extract run too); creating them here lets a warehouse that only ever
    ran ``deliver_reports`` record its alerts. Commits unless autocommit.
    """
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.bootstrap'))")  # the bootstrap's lock
        cur.execute("select to_regclass('audit.data_quality_alerts') is not null")
        if not cur.fetchone()[0]:
            cur.execute("create schema if not exists audit")
            cur.execute(AUDIT_DDL)
    ensure_reporting_schema(conn)


def demo_recipient(tenant_id: str) -> str:
    return f"finance@{tenant_id}.example.com"


def seed_demo_schedules(
    conn: psycopg2.extensions.connection,
    tenant_ids: list[str],
    first_run_at: datetime,
) -> list[int]:
    """One monthly ``revenue_summary`` (PDF + CSV to ``finance@<tenant>.example.com``) per tenant that has none.

    ``first_run_at`` is the first due time, e.g. the 1st of a month at 00:00
    UTC (the report due then covers the month before). Returns the ids of the
    rows inserted; a tenant that already has any scheduled report is left
    alone, so a rerun (or a user's own schedules) is never duplicated or
    overwritten. Commits unless the connection is autocommit.
    """
    if first_run_at.tzinfo is None:
        raise ValueError(f"first_run_at must be timezone-aware (UTC), got naive {first_run_at!r}")
    inserted: list[int] = []
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.reporting.seed'))")
        for tenant_id in tenant_ids:
            cur.execute(
                """
                insert into reporting.scheduled_reports
                    (tenant_id, name, report_type, frequency, formats, recipients, parameters, next_run_at)
                select %(tenant_id)s, %(name)s, 'revenue_summary', 'monthly', array['pdf', 'csv'],
                       array[%(recipient)s], %(parameters)s, %(first_run_at)s
                where not exists (select 1 from reporting.scheduled_reports where tenant_id = %(tenant_id)s)
                returning id
                """,
                {
                    "tenant_id": tenant_id,
                    "name": f"Monthly revenue summary ({tenant_id})",
                    "recipient": demo_recipient(tenant_id),
                    "parameters": Json({}),
                    "first_run_at": first_run_at,
                },
            )
            row = cur.fetchone()
            if row:
                inserted.append(row[0])
    if not conn.autocommit:
        conn.commit()
    return inserted
