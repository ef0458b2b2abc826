"""The demo: generated data through every stage, ending in reports and mail.

Runs exactly what production runs, on this checkout: the embedded PostgreSQL,
then ``airflow dags test`` of extract_sources, transform_warehouse and
deliver_reports for one as-of date (or, with ``--scheduler``, the same three
runs through Airflow's scheduler and services: meridian.demo.scheduled), with
the local SMTP sink catching mail in out/mail/. Prints what to look at next.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from meridian import db
from meridian.airflow_env import airflow_env, run_airflow, run_dbt
from meridian.config import WAREHOUSE_CONN_ID, airflow_port, settings
from meridian.runtime import to_instant
from meridian.warehouse import embedded
from meridian.warehouse.bootstrap import SCHEMAS, ensure_warehouse

DAG_CHAIN = ("extract_sources", "transform_warehouse", "deliver_reports")


@dataclass
class ChainTimings:
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def reset_warehouse() -> None:
    """Drop the warehouse schemas so the demo starts from an empty warehouse (sources are kept)."""
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        for schema in SCHEMAS:
            cur.execute(f"drop schema if exists {schema} cascade")
        cur.execute("drop schema if exists snapshots cascade")


def restore_archived_files(landing_dir: Path) -> int:
    """Move archived event files back to the landing dir (a demo rerun without regeneration)."""
    archive = landing_dir / "archive"
    if not archive.exists():
        return 0
    moved = 0
    for path in sorted(archive.glob("*.jsonl*")):
        shutil.move(str(path), landing_dir / path.name)
        moved += 1
    return moved


def ensure_manifest(env: dict[str, str]) -> None:
    """Parse the dbt project once up front, so a broken project fails before any DAG runs."""
    run_dbt(["parse", "--quiet"], env=env)


def dag_test_args(dag_id: str, as_of: date, conf: dict | None = None) -> list[str]:
    """``airflow dags test`` arguments covering the whole as-of date, with ``conf`` beside it.

    extract_sources and transform_warehouse take the as-of instant from the conf
    (the end of the day); deliver_reports delivers what was due at the day's start.
    """
    values = dict(conf or {})
    if dag_id != "deliver_reports":
        values = {"as_of": to_instant(as_of).isoformat(), **values}
    return ["dags", "test", dag_id, as_of.isoformat(), *(["--conf", json.dumps(values)] if values else [])]


def run_chain(as_of: date, env: dict[str, str], log_dir: Path, dags: tuple[str, ...] = DAG_CHAIN) -> ChainTimings:
    timings = ChainTimings()
    for dag_id in dags:
        started = time.monotonic()
        print(f"    airflow dags test {dag_id} {as_of} ...", end="", flush=True)
        run_airflow(dag_test_args(dag_id, as_of), env=env, capture=log_dir / f"{dag_id}.log")
        timings.seconds[dag_id] = time.monotonic() - started
        print(f" done in {timings.seconds[dag_id]:.1f}s (log {log_dir / f'{dag_id}.log'})", flush=True)
    return timings


def run_full_chain(as_of: date, env: dict[str, str], log_dir: Path) -> ChainTimings:
    """extract_sources and transform_warehouse, a monthly report per tenant, then deliver_reports,
    with the local SMTP sink catching the mail."""
    from meridian.mailsink import start_background

    sink = start_background(settings().smtp_port)
    try:
        timings = run_chain(as_of, env, log_dir, DAG_CHAIN[:2])
        tenant_ids = seed_schedules(as_of)
        print(f"    scheduled a monthly revenue_summary and a comprehensive report for {', '.join(tenant_ids)}")
        timings.seconds.update(run_chain(as_of, env, log_dir, DAG_CHAIN[2:]).seconds)
    finally:
        sink.stop()
    return timings


def mart_row_counts() -> dict[str, int]:
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
        )
        names = [row[0] for row in cur.fetchall()]
        counts = {}
        for name in names:
            cur.execute(f'select count(*) from marts."{name}"')
            counts[name] = cur.fetchone()[0]
        return counts


def delivered_periods() -> list[tuple[str, date, date, int]]:
    """(frequency, period start, period end, reports) of every period delivered (sent), oldest first."""
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('reporting.report_deliveries') is not null")
        if not cur.fetchone()[0]:
            return []
        cur.execute(
            "select s.frequency, d.period_start, d.period_end, count(*) from reporting.report_deliveries d "
            "join reporting.scheduled_reports s on s.id = d.report_id where d.status = 'sent' "
            "group by 1, 2, 3 order by 2, 1"
        )
        return [(frequency, start, end, int(count)) for frequency, start, end, count in cur.fetchall()]


def print_report_periods(as_of: date) -> None:
    """Which closed period the delivered reports cover, and why: deliver_reports runs at the as-of date's start."""
    from meridian.reports.periods import Period
    from meridian.reports.summary import period_statement

    instant = datetime.combine(as_of, dtime.min, tzinfo=UTC)
    periods = delivered_periods()
    if not periods:
        print(f"    no report period was delivered as of {instant:%Y-%m-%d %H:%M} UTC")
        return
    for frequency, start, end, count in periods:
        print(f"    {count} report(s) delivered: {period_statement(Period(frequency, start, end), instant)}")
    if any(frequency == "monthly" for frequency, *_ in periods):
        following = (instant.replace(day=1) + timedelta(days=32)).replace(day=1)
        print(f"    (a run as of {following:%Y-%m-%d %H:%M} UTC covers {following - timedelta(days=1):%B %Y}: "
              f"meridian reports run-now ID --as-of {following:%Y-%m-%d})")


def batch_totals() -> tuple[int, int, int, int]:
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        cur.execute(
            "select coalesce(sum(landed),0), coalesce(sum(accepted),0), coalesce(sum(quarantined),0), "
            "coalesce(sum(duplicates),0) from audit.batches"
        )
        return tuple(int(value) for value in cur.fetchone())  # type: ignore[return-value]


def seed_schedules(as_of: date) -> list[str]:
    """Per tenant, a monthly revenue_summary (PDF + CSV, to finance@) and a monthly comprehensive report
    (every format, to founders@), due at the start of the as-of month (so they are due now)."""
    from meridian.delivery.schema import seed_demo_schedules

    first_run = datetime.combine(as_of.replace(day=1), dtime.min, tzinfo=UTC)
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        ensure_warehouse(conn)
        with conn.cursor() as cur:
            cur.execute("select distinct id from staging.stg_app__organizations order by id")
            tenants = [row[0] for row in cur.fetchall()]
        seed_demo_schedules(conn, tenants, first_run)
        with conn.cursor() as cur:
            for tenant_id in tenants:
                cur.execute(
                    """
                    insert into reporting.scheduled_reports
                        (tenant_id, name, report_type, frequency, formats, recipients, next_run_at)
                    select %(tenant)s, %(name)s, 'comprehensive', 'monthly', array['pdf', 'xlsx', 'csv', 'html'],
                           array[%(recipient)s], %(first_run)s
                    where not exists (
                        select 1 from reporting.scheduled_reports
                        where tenant_id = %(tenant)s and report_type = 'comprehensive'
                    )
                    """,
                    {"tenant": tenant_id, "name": f"Monthly comprehensive report ({tenant_id})",
                     "recipient": f"founders@{tenant_id}.example.com", "first_run": first_run},
                )
    return tenants


def run_scheduled(as_of: date) -> ChainTimings:
    """The chain through Airflow's services (meridian.demo.scheduled): runs with task logs in the UI."""
    from meridian import services
    from meridian.demo.scheduled import run_chain

    print("    starting Airflow's api-server, scheduler, dag-processor and triggerer (LocalExecutor) ...", flush=True)
    with services.start(schedule=False) as handle:
        print(f"    {handle.url} is up; service logs in {handle.log_dir}", flush=True)

        def seed() -> None:
            tenant_ids = seed_schedules(as_of)
            print(f"    scheduled a monthly revenue_summary and a comprehensive report for {', '.join(tenant_ids)}")

        chain = run_chain(handle, as_of, before_delivery=seed, progress=lambda line: print(f"    {line}", flush=True))
    return ChainTimings(seconds=chain.seconds)


def run_demo(*, as_of: date | None, seed: int, tenants: int, users: int, days: int, skip_generate: bool,
             scheduler: bool = False) -> int:
    from meridian.demo.generate import DEFAULT_END_DATE, generate

    cfg = settings()
    step("Starting the embedded PostgreSQL")
    print("    " + embedded.start().describe())
    end_date = DEFAULT_END_DATE
    if skip_generate:
        restored = restore_archived_files(cfg.landing_dir)
        print(f"    reusing generated sources ({restored} event files restored from archive)")
    else:
        step(f"Generating demo data: {tenants} tenants, {users:,} users, {days} days (seed {seed})")
        summary = generate(seed=seed, tenants=tenants, users=users, days=days, progress=True)
        end_date = summary.end_date
        print(f"    {sum(summary.row_counts.values()):,} source rows and {len(summary.event_files)} event files "
              f"in {summary.seconds:.1f}s")
    as_of = as_of or end_date

    step("Preparing a fresh warehouse, the dbt manifest and the Airflow metadata DB")
    env = airflow_env()
    log_dir = cfg.state_dir / "logs" / "demo"
    reset_warehouse()
    if cfg.mail_dir.exists():
        shutil.rmtree(cfg.mail_dir)
    if cfg.reports_dir.exists():
        shutil.rmtree(cfg.reports_dir)
    ensure_manifest(env)
    if not scheduler:
        run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")

    step(f"Running the pipeline for as-of date {as_of}" + (" through the Airflow scheduler" if scheduler else ""))
    timings = run_scheduled(as_of) if scheduler else run_full_chain(as_of, env, log_dir)
    print(f"    pipeline finished in {timings.total:.1f}s "
          f"({', '.join(f'{name} {secs:.1f}s' for name, secs in timings.seconds.items())})")
    print_summary(as_of, scheduler)
    return 0


def print_summary(as_of: date, scheduler: bool = False) -> None:
    cfg = settings()
    step(f"What to look at (as of {as_of})")
    landed, accepted, quarantined, duplicates = batch_totals()
    print(f"    raw rows landed {landed:,} = accepted {accepted:,} + quarantined {quarantined:,} "
          f"+ duplicates {duplicates:,}")
    print("    marts (schema marts of the warehouse database):")
    for name, count in mart_row_counts().items():
        print(f"      {name:<28} {count:>10,} rows")
    reports = sorted(path for path in cfg.reports_dir.rglob("*") if path.is_file()) if cfg.reports_dir.exists() else []
    print(f"    reports ({cfg.reports_dir}):")
    for path in reports:
        print(f"      {path.relative_to(cfg.root) if path.is_relative_to(cfg.root) else path}")
    print_report_periods(as_of)
    mails = sorted(cfg.mail_dir.glob("*.eml")) if cfg.mail_dir.exists() else []
    print(f"    delivered mail ({cfg.mail_dir}): {len(mails)} message(s)")
    for path in mails:
        print(f"      {path.name}")
    uri = f"postgres://postgres@127.0.0.1:{cfg.pg_port}/warehouse"
    password_file = cfg.state_dir / "pg-password"
    print("\nNext:")
    print(f"    PGPASSWORD=$(cat {password_file}) psql {uri} -c 'select * from marts.fct_monthly_revenue order by 1, 2'")
    if scheduler:
        print(f"    make ui            # Airflow UI on http://127.0.0.1:{airflow_port()}: these runs with their task "
              "logs, and the chain on its schedule (password in "
              ".meridian/airflow/simple_auth_manager_passwords.json.generated)")
    else:
        print("    meridian demo --scheduler --skip-generate   # the same chain through the Airflow scheduler, "
              "its runs and task logs then in `make ui`")
    print("    open out/reports/  # the rendered reports (PDF, XLSX, CSV, HTML); out/mail/ holds the sent messages")
