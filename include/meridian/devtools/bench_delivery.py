"""How long delivering the due reports of many tenants takes (the figure: 100 tenants in under 5 minutes).

``bench_delivery(100)``:

1. reads one tenant's rows of every table in ``marts`` from the warehouse
   (connection ``warehouse``, only read: the one the demo or ``meridian bench``
   just built; the tenant with the most rows in ``marts.fct_daily_kpis``);
2. starts a private embedded PostgreSQL (a free port, a throwaway state dir),
   creates the same ``marts`` tables there and fills them with copies of those
   rows under 100 tenant ids (``<tenant>-001`` … ``<tenant>-100``);
3. schedules one monthly report (``revenue_summary`` unless told; PDF + CSV) per tenant, all due
   at the start of the month after the data's last day (so they cover the
   last month the marts reach);
4. starts a local SMTP server (the aiosmtpd sink, on a free port) and times
   one :func:`meridian.delivery.deliver.deliver_due_reports` call: reading the
   marts, rendering, sending and recording every report. Steps 1–3 are set-up
   and are not timed.

Returns the figures as a dict and prints them
(``python -m meridian.devtools.bench_delivery --tenants 100``).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg2.extensions
from psycopg2 import sql

from meridian.config import WAREHOUSE_CONN_ID, embedded_uri
from meridian.db import connection
from meridian.mailsink import free_port
from meridian.reports.periods import month_start, period_for

FIVE_MINUTES = 300.0
FRESHNESS_TABLE = "fct_daily_kpis"  # the daily mart whose last day says how far the marts reach


@dataclass
class MartTable:
    name: str
    columns: list[tuple[str, str]]  # (name, type as format_type prints it)
    data: bytes  # COPY text of the template tenant's rows (every row when the table has no tenant_id)

    @property
    def per_tenant(self) -> bool:
        return any(column == "tenant_id" for column, _ in self.columns)


@dataclass
class Template:
    tenant_id: str
    last_day: date
    tables: list[MartTable]


def read_template(conn: psycopg2.extensions.connection, tenant_id: str | None = None) -> Template:
    """One tenant's rows of every ``marts`` table (tables without ``tenant_id``: all rows)."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = 'marts' and c.relkind in ('r', 'p', 'v', 'm')
            order by c.relname, a.attnum
            """
        )
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, column_type in cur.fetchall():
            columns.setdefault(table, []).append((column, column_type))
        if FRESHNESS_TABLE not in columns:
            raise RuntimeError(
                f"the warehouse has no marts.{FRESHNESS_TABLE}: build the marts first "
                "(`meridian demo`, or `meridian dbt build`), then run the delivery bench"
            )
        if tenant_id is None:
            cur.execute(
                sql.SQL("select tenant_id from marts.{} group by tenant_id order by count(*) desc, tenant_id limit 1")
                .format(sql.Identifier(FRESHNESS_TABLE))
            )
            row = cur.fetchone()
            if row is None:
                raise RuntimeError(f"marts.{FRESHNESS_TABLE} is empty: build the marts first")
            tenant_id = row[0]
        cur.execute(
            sql.SQL("select max(kpi_date) from marts.{} where tenant_id = %s").format(sql.Identifier(FRESHNESS_TABLE)),
            (tenant_id,),
        )
        last_day = cur.fetchone()[0]
        if last_day is None:
            raise RuntimeError(f"tenant {tenant_id!r} has no rows in marts.{FRESHNESS_TABLE}")
        tables = []
        for table, table_columns in columns.items():
            query = sql.SQL("select * from marts.{}").format(sql.Identifier(table))
            if any(column == "tenant_id" for column, _ in table_columns):
                query = sql.SQL("{} where tenant_id = {}").format(query, sql.Literal(tenant_id))
            buffer = io.BytesIO()
            cur.copy_expert(sql.SQL("copy ({}) to stdout").format(query).as_string(conn), buffer)
            tables.append(MartTable(table, table_columns, buffer.getvalue()))
    conn.rollback()
    return Template(tenant_id, last_day, tables)


def load_copies(conn: psycopg2.extensions.connection, template: Template, tenants: list[str]) -> int:
    """The template's tables in ``marts`` of ``conn``, their per-tenant rows copied under each of ``tenants``."""
    rows = 0
    with conn.cursor() as cur:
        cur.execute("create schema if not exists marts")
        for table in template.tables:
            name = sql.Identifier("marts", table.name)
            cur.execute(
                sql.SQL("create table {} ({})").format(
                    name,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(column_type))
                        for column, column_type in table.columns
                    ),
                )
            )
            cur.copy_expert(sql.SQL("copy {} from stdin").format(name).as_string(conn), io.BytesIO(table.data))
            if not table.per_tenant:
                continue
            others = sql.SQL(", ").join(
                sql.SQL("copies.tenant") if column == "tenant_id" else sql.Identifier("template", column)
                for column, _ in table.columns
            )
            cur.execute(
                sql.SQL(
                    "insert into {name} select {others} from {name} as template "
                    "cross join unnest(%s::text[]) as copies (tenant)"
                ).format(name=name, others=others),
                (tenants,),
            )
            rows += cur.rowcount
            cur.execute(sql.SQL("delete from {} where tenant_id = %s").format(name), (template.tenant_id,))
            cur.execute(sql.SQL("analyze {}").format(name))
    conn.commit()
    return rows


def schedule_reports(
    conn: psycopg2.extensions.connection, tenants: list[str], due: datetime, report_type: str = "revenue_summary"
) -> None:
    from meridian.delivery.schema import ensure_delivery_schema

    ensure_delivery_schema(conn)
    with conn.cursor() as cur:
        for index, tenant in enumerate(tenants, start=1):
            cur.execute(
                """
                insert into reporting.scheduled_reports (tenant_id, name, report_type, recipients, next_run_at)
                values (%s, %s, %s, %s, %s)
                """,
                (tenant, f"Monthly {report_type} ({tenant})", report_type,
                 [f"finance-{index:03d}@bench.example.com"], due),
            )
    conn.commit()


@contextmanager
def private_warehouse(base: Path) -> Iterator[None]:
    """An embedded PostgreSQL in ``base`` on a free port; the ``warehouse`` connection points at it meanwhile."""
    from meridian.warehouse import embedded

    port = free_port()
    os.chmod(base, 0o755)  # the server runs as the pgserver user when run as root
    # the environment as it was once the block ends (mock.patch.dict restores os.environ)
    with mock.patch.dict(
        os.environ,
        {
            "MERIDIAN_STATE_DIR": str(base / "state"),
            "MERIDIAN_PG_PORT": str(port),
            "MERIDIAN_OUT_DIR": str(base / "out"),
        }
    ), mock.patch.dict(os.environ, {f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}": embedded_uri(WAREHOUSE_CONN_ID, port)}):
        embedded.start()
        try:
            yield
        finally:
            embedded.stop()


def bench_delivery(
    tenants: int = 100, *, tenant_id: str | None = None, report_type: str = "revenue_summary", quiet: bool = False
) -> dict[str, Any]:
    """Time delivering one due monthly report to each of ``tenants`` tenants (see the module docstring)."""
    from meridian.delivery.deliver import deliver_due_reports, summarize
    from meridian.mailsink import start_background, stop

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    with connection(WAREHOUSE_CONN_ID) as conn:
        template = read_template(conn, tenant_id)
    # the 1st after the marts' last day when that day ends a month, else the 1st of its month
    due = datetime.combine(month_start(template.last_day + timedelta(days=1)), dtime.min, tzinfo=UTC)
    names = [f"{template.tenant_id}-{index:03d}" for index in range(1, tenants + 1)]
    base = Path(tempfile.mkdtemp(prefix="meridian-bench-delivery-"))
    try:
        say(f"delivery bench: copying tenant {template.tenant_id}'s marts ({len(template.tables)} tables) "
            f"to {tenants} tenants in a private warehouse (not timed)")
        with private_warehouse(base):
            with connection(WAREHOUSE_CONN_ID) as conn:
                copied = load_copies(conn, template, names)
                schedule_reports(conn, names, due, report_type)
            sink = start_background(0, mail_dir=base / "mail")
            try:
                with mock.patch.dict(os.environ, {"AIRFLOW_CONN_SMTP_REPORTS": sink.uri}):
                    say(f"delivery bench: delivering {tenants} reports due {due:%Y-%m-%d} ...")
                    started = time.monotonic()
                    results = deliver_due_reports(due, out_dir=base / "reports", smtp_backoff_seconds=0.5)
                    seconds = time.monotonic() - started
                messages = len(sink.messages())
            finally:
                stop(sink)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    summary = summarize(results)
    figures = {
        "tenants": tenants,
        "report_type": report_type,
        "template_tenant": template.tenant_id,
        "mart_rows_copied": copied,
        "due": due.isoformat(),
        "period": period_for(due, "monthly").label,
        "statuses": summary["counts"],
        "messages_received": messages,
        "seconds": round(seconds, 2),
        "seconds_per_report": round(seconds / max(1, tenants), 3),
        "under_five_minutes": seconds < FIVE_MINUTES,
    }
    if summary["failures"]:
        figures["first_failure"] = summary["failures"][0]["error"]
    say(
        f"delivery bench: {tenants} tenants' {report_type} for {figures['period']} in {seconds:.1f} s "
        f"({figures['seconds_per_report']:.2f} s each); statuses {summary['counts']}; "
        f"{messages} messages received; under 5 minutes: {'yes' if seconds < FIVE_MINUTES else 'NO'}"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meridian.devtools.bench_delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--tenant", default=None, help="the tenant whose marts are copied (default: the largest)")
    parser.add_argument("--type", default="revenue_summary", help="report type (default revenue_summary)")
    args = parser.parse_args(argv)
    figures = bench_delivery(args.tenants, tenant_id=args.tenant, report_type=args.type)
    ok = figures["statuses"].get("sent", 0) == args.tenants == figures["messages_received"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
