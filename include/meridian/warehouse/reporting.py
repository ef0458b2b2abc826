"""The ``reporting`` schema: ``scheduled_reports`` and ``report_deliveries`` (docs/metrics.md, Reporting).

The warehouse bootstrap (:mod:`meridian.warehouse.bootstrap`) creates it with
every other object the pipeline owns, so it lives here, below the pipeline
steps: :mod:`meridian.reports` takes the names the tables accept from
:data:`REPORT_TYPE_NAMES`, :data:`FREQUENCIES` and :data:`FORMAT_NAMES`, and
:mod:`meridian.delivery` fills the tables.

``ensure_reporting_schema`` is idempotent (``create ... if not exists``). On
tables that already exist it only adds the columns listed in
:data:`ADDED_COLUMNS` when they are missing (checked first, so a schema that is
up to date takes no table lock); a change to the allowed report types or
formats later needs a migration of the check constraints.

``scheduled_reports``: a person inserting a row by hand fills ``tenant_id``,
``name``, ``recipients`` and ``next_run_at`` (the first due time); every other
column has a default (docs/reporting.md lists them).

``report_deliveries`` holds one row per (report, period): ``period_start`` and
``period_end`` are the period's first and last day (inclusive), ``status`` is
``rendered`` (files written, not known to be sent), ``sent`` or ``failed``,
``attempts`` counts SMTP send attempts, ``files`` the attachments' paths,
``message_id`` the message's Message-ID (fixed per report and period, stored
before the first attempt and reused by every attempt and resend),
``data_sent_at`` when the message's content last started going to the SMTP
server (from then on the server may hold it, so a row with ``data_sent_at``
set that is not ``sent`` is resent under the same Message-ID) and
``data_sends`` how many times the content went to the server
(:mod:`meridian.delivery.deliver`, "Exactly once").
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg2.extensions

# the values the tables' check constraints allow (docs/metrics.md); a report type, frequency or format
# added later needs its name here and a migration of the constraint on existing warehouses
REPORT_TYPE_NAMES: tuple[str, ...] = (
    "revenue_summary",
    "user_analytics",
    "payments",
    "sales",
    "customer_success",
    "tournament_performance",
    "executive",
    "comprehensive",
)
FREQUENCIES: tuple[str, ...] = ("daily", "weekly", "monthly")
FORMAT_NAMES: tuple[str, ...] = ("pdf", "csv", "xlsx", "html")


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def reporting_ddl() -> list[str]:
    """The statements that create the schema (constants only: no user input is interpolated)."""
    return [
        "create schema if not exists reporting",
        f"""
        create table if not exists reporting.scheduled_reports (
            id bigserial primary key,
            tenant_id text not null,
            name text not null,
            report_type text not null default 'revenue_summary'
                constraint scheduled_reports_report_type_check check (report_type in ({_quoted(REPORT_TYPE_NAMES)})),
            frequency text not null default 'monthly'
                constraint scheduled_reports_frequency_check check (frequency in ({_quoted(FREQUENCIES)})),
            formats text[] not null default '{{pdf,csv}}'
                constraint scheduled_reports_formats_check
                check (formats <@ array[{_quoted(FORMAT_NAMES)}]::text[] and cardinality(formats) > 0),
            recipients text[] not null,
            parameters jsonb not null default '{{}}',
            last_run_at timestamptz,
            next_run_at timestamptz not null,
            is_active boolean not null default true,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        )
        """,
        """
        create index if not exists scheduled_reports_due_idx
            on reporting.scheduled_reports (next_run_at) where is_active
        """,
        "create index if not exists scheduled_reports_tenant_idx on reporting.scheduled_reports (tenant_id)",
        """
        create table if not exists reporting.report_deliveries (
            id bigserial primary key,
            report_id bigint not null references reporting.scheduled_reports (id),
            period_start date not null,
            period_end date not null,
            status text not null
                constraint report_deliveries_status_check check (status in ('rendered', 'sent', 'failed')),
            attempts integer not null default 0,
            files text[],
            sent_at timestamptz,
            error text,
            message_id text,
            data_sent_at timestamptz,
            data_sends integer not null default 0,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            constraint report_deliveries_report_period_key unique (report_id, period_start),
            constraint report_deliveries_period_check check (period_end >= period_start)
        )
        """,
    ]


# columns added after the first release: (table, column, type); created on older tables by ensure_reporting_schema
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("report_deliveries", "message_id", "text"),
    ("report_deliveries", "data_sent_at", "timestamptz"),
    ("report_deliveries", "data_sends", "integer not null default 0"),
)


def ensure_reporting_schema(conn: psycopg2.extensions.connection) -> None:
    """Create schema ``reporting`` and its tables if missing, add missing :data:`ADDED_COLUMNS`.

    Commits unless the connection is autocommit. Concurrent first runs are
    serialised with a transaction-level advisory lock (``create ... if not
    exists`` alone can race on the catalog).
    """
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.reporting.schema'))")
        for statement in reporting_ddl():
            cur.execute(statement)
        cur.execute(
            """
            select table_name, column_name from information_schema.columns
            where table_schema = 'reporting' and table_name in ('scheduled_reports', 'report_deliveries')
            """
        )
        present = set(cur.fetchall())
        for table, column, column_type in ADDED_COLUMNS:
            if (table, column) not in present:  # constants only: no user input is interpolated
                cur.execute(f"alter table reporting.{table} add column if not exists {column} {column_type}")
    if not conn.autocommit:
        conn.commit()
