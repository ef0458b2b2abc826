"""``meridian``: the command line of the stack.

    meridian warehouse start|stop|status|reset   the embedded PostgreSQL
    meridian generate [--seed ...]                demo data into the source databases + event files
    meridian demo [--as-of YYYY-MM-DD]            the whole chain, ending in reports and mail
    meridian bench                                throughput and timing figures at the demo size
    meridian env                                  export lines for running airflow/dbt by hand
    meridian airflow ARGS... / meridian dbt ARGS...  airflow or dbt with this checkout's environment
    meridian dbt-parse                            parse the dbt project (fails early on a broken project)
    meridian mail-sink                            run the local SMTP sink (writes out/mail/*.eml)
    meridian ui                                   Airflow's services on :8080 over this checkout (Ctrl-C stops)
    meridian reports create|list|pause|resume|run-now|render|resolve   manage scheduled reports
    meridian tenant purge TENANT [--yes]          remove every row of a tenant, its API keys and BI roles
    meridian user forget TENANT USER              replace a user's id by a pseudonym everywhere, clear its e-mail
    meridian api [--host --port]                  the KPI read API (uvicorn)
    meridian api-key create|list|revoke           per-tenant API keys (stored hashed)
    meridian bench --api                          the KPI read API's latency and throughput
    meridian bench --json | --readme JSON...      figures as JSON (also to a file) | README block from them
    meridian bench --skip-generate                the same, on the data the last generation wrote (same sizes)
    meridian bi grant TENANT ROLE | revoke ROLE | list   per-tenant BI logins (row-level security on the marts)
    meridian export transactions --tenant T --from D --to D --format csv|json --output PATH   the accounting ledger

A value a command cannot use (an unknown tenant, a date outside 2000-2100, a name over 200 characters,
a date that does not parse, ...) is refused with one line naming the option and the value, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from datetime import date, timedelta

import psycopg2

from meridian.cli_input import Parser, in_range_date, port, report_id, whole_number
from meridian.reports.periods import EARLIEST_DATE

# more demo users than this is a typo, not a demo (hours of generation and a full disk)
DEMO_MAX_USERS = 10_000_000


def cmd_warehouse(args: argparse.Namespace) -> int:
    from meridian.warehouse import embedded

    if args.action == "start":
        print(embedded.start().describe())
    elif args.action == "stop":
        print(embedded.stop().describe())
    elif args.action == "status":
        status = embedded.status()
        print(status.describe())
        return 0 if status.running else 3
    elif args.action == "reset":
        embedded.destroy()
        print("embedded warehouse stopped and its data directory deleted")
    return 0


def _size_problem(args: argparse.Namespace, end_date: date | None) -> str | None:
    """What is wrong with the demo sizes (the generator's bounds, and the sizes taken together), or None.

    Checked before anything starts, so a bad size never leaves a half-started demo.
    """
    from meridian.demo.generate import MIN_DAYS
    from meridian.demo.tenants import MAX_TENANTS

    if args.tenants > MAX_TENANTS:
        return f"argument --tenants: {args.tenants} is more than the {MAX_TENANTS} demo tenants"
    if args.days < MIN_DAYS:
        return f"argument --days: {args.days} is fewer than {MIN_DAYS} days"
    if args.users < args.tenants:
        return f"argument --users: {args.users} is fewer than --tenants {args.tenants} (every tenant needs a user)"
    if end_date is not None and end_date - timedelta(days=args.days - 1) < EARLIEST_DATE:
        return (f"argument --days: {args.days} days up to {end_date} would start before {EARLIEST_DATE} "
                f"(the earliest date the warehouse takes)")
    return None


def cmd_generate(args: argparse.Namespace) -> int:
    from meridian.demo.generate import DEFAULT_END_DATE, generate
    from meridian.warehouse import embedded

    end_date = args.end_date or DEFAULT_END_DATE
    problem = _size_problem(args, end_date)
    if problem:
        print(f"meridian generate: {problem}", file=sys.stderr)
        return 2
    if not args.no_start:
        embedded.start()
    summary = generate(
        seed=args.seed, tenants=args.tenants, users=args.users, days=args.days, end_date=end_date, progress=True,
    )
    print(f"generated {summary.start_date} .. {summary.end_date} for tenants {', '.join(summary.tenants)} "
          f"in {summary.seconds:.1f}s")
    for name, count in sorted(summary.row_counts.items()):
        print(f"  {name:<32} {count:>10,}")
    print(f"  event files: {len(summary.event_files)}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    import os

    from meridian.airflow_env import airflow_env

    env = airflow_env()
    for key in sorted(env):
        if key.startswith(("AIRFLOW", "MERIDIAN")) and env[key] != os.environ.get(key):
            print(f"export {key}={shlex.quote(env[key])}")
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    from meridian.airflow_env import run_airflow

    return run_airflow(args.rest, check=False).returncode


def cmd_dbt(args: argparse.Namespace) -> int:
    from meridian.airflow_env import run_dbt

    return run_dbt(args.rest, check=False).returncode


def cmd_dbt_parse(args: argparse.Namespace) -> int:
    from meridian.airflow_env import run_dbt

    return run_dbt(["parse", "--quiet"], check=False).returncode


def cmd_mail_sink(args: argparse.Namespace) -> int:
    from meridian.mailsink import main as sink_main

    return sink_main(["--port", str(args.port)] if args.port else [])


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_ui(args: argparse.Namespace) -> int:
    import signal
    import time

    from meridian import services

    print("Starting the embedded PostgreSQL and Airflow's api-server, scheduler, dag-processor and triggerer "
          f"({args.executor}) ...", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops the services like Ctrl-C does
    handle = None
    try:
        handle = services.start(args.executor, port=args.port, workers=args.workers)
        print(services.describe(handle))
        print("    the DAGs are unpaused: extract_sources runs every 15 minutes, transform_warehouse and "
              "deliver_reports follow through their assets. Ctrl-C stops everything.", flush=True)
        while True:
            handle.check_alive()
            time.sleep(2)
    except KeyboardInterrupt:
        print("\nstopping the Airflow services ...", flush=True)
        return 0
    except services.ServiceError as exc:
        print(f"meridian ui: {exc}", file=sys.stderr)
        return 1
    finally:
        if handle is not None:
            handle.stop()


def cmd_demo(args: argparse.Namespace) -> int:
    from meridian.demo.generate import DEFAULT_END_DATE
    from meridian.demo.pipeline import run_demo

    problem = _size_problem(args, None if args.skip_generate else DEFAULT_END_DATE)
    if problem:
        print(f"meridian demo: {problem}", file=sys.stderr)
        return 2
    return run_demo(
        as_of=args.as_of, seed=args.seed, tenants=args.tenants, users=args.users, days=args.days,
        skip_generate=args.skip_generate, scheduler=args.scheduler,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    from meridian.demo.bench_result import BenchArgumentError, check_bench_options

    try:
        json_out = check_bench_options(args)
    except BenchArgumentError as exc:
        print(f"meridian bench: {exc}", file=sys.stderr)
        return 2
    if args.readme:
        from meridian.demo.bench_readme import update_readme

        return update_readme(args.readme, args.readme_file)
    if args.api:
        from meridian.demo.bench_api import run_api_bench

        return run_api_bench(tenant=args.tenant, requests=args.requests, clients=args.clients)
    from meridian.demo.bench import BenchOptions, run_bench
    from meridian.demo.generate import DEFAULT_END_DATE

    problem = _size_problem(args, DEFAULT_END_DATE)
    if problem:
        print(f"meridian bench: {problem}", file=sys.stderr)
        return 2
    from meridian.demo.generated import ReuseError

    try:
        return run_bench(BenchOptions(seed=args.seed, tenants=args.tenants, users=args.users, days=args.days,
                                      emit_json=args.json, json_out=json_out, skip=frozenset(args.skip),
                                      skip_generate=args.skip_generate))
    except ReuseError as exc:
        print(f"meridian bench: {exc}", file=sys.stderr)
        return 2


# the option of each field a ReportConfigError names (parameters.x is --parameters)
REPORT_OPTIONS = {
    "tenant_id": "--tenant", "name": "--name", "report_type": "--type", "frequency": "--frequency",
    "formats": "--formats", "recipients": "--recipients", "parameters": "--parameters", "first_run": "--first-run",
    "period": "--period", "as_of": "--as-of", "out": "--out", "id": "ID", "is_active": "ID",
}


def cmd_reports(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.delivery import adhoc, manage
    from meridian.reports.registry import ReportConfigError

    where = f"meridian reports {args.action}"
    try:
        if args.action == "create":
            report = manage.validate_new_report(
                tenant=args.tenant, name=args.name, report_type=args.type, frequency=args.frequency,
                formats=args.formats, recipients=args.recipients, parameters=args.parameters,
                first_run=args.first_run,
            )
            with connection("warehouse") as conn:
                report_id = manage.create_report(conn, report)
            print(report_id)
            print(f"scheduled report {report_id} ({report.tenant_id}, {report.report_type}, {report.frequency}) "
                  f"first due {report.next_run_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
        elif args.action == "list":
            with connection("warehouse") as conn:
                rows = manage.list_reports(conn, tenant=args.tenant, include_paused=args.all)
            print(manage.format_table(rows))
        elif args.action in ("pause", "resume"):
            with connection("warehouse") as conn:
                row = manage.set_active(conn, args.id, args.action == "resume")
            state = "active" if row.is_active else "paused"
            print(f"scheduled report {row.id} ({row.tenant_id}, {row.name}) is {state}; "
                  f"next run {row.next_run_at:%Y-%m-%d %H:%M} UTC")
        elif args.action == "run-now":
            now = manage.parse_moment(args.as_of, "as_of")
            report, results = adhoc.run_now(args.id, now=now, out_dir=args.out)
            if not results:
                print(f"scheduled report {report.id}: nothing due (next run {report.next_run_at:%Y-%m-%d %H:%M} UTC)")
            for result in results:
                print(adhoc.describe_result(result))
                for path in result.files:
                    print(f"  {path}")
            return 1 if any(result.status == "failed" for result in results) else 0
        elif args.action == "resolve":
            with connection("warehouse") as conn:
                _, _, done = adhoc.resolve_delivery(
                    conn, args.id, args.period, adhoc.RESEND if args.resend else adhoc.MARK_SENT
                )
            print(done)
        elif args.action == "render":
            rendered = adhoc.render_adhoc(
                tenant=args.tenant, report_type=args.type, period=args.period, frequency=args.frequency,
                formats=args.formats, parameters=args.parameters, out_dir=args.out,
            )
            if rendered.warning:
                print(f"{where}: warning: the marts may not cover {rendered.period.label} yet: {rendered.warning}",
                      file=sys.stderr)
            for path in rendered.files:
                print(path)
    except ReportConfigError as exc:
        option = REPORT_OPTIONS.get(exc.field.split(".")[0])
        print(f"{where}: {option + ': ' if option else ''}invalid {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    except manage.ReportNotFoundError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_tenant(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.warehouse.bootstrap import ensure_warehouse
    from meridian.warehouse.deletion import DeletionError, purge_tenant
    from meridian.warehouse.tenants import UnknownTenantError

    where = f"meridian tenant {args.action}"
    try:
        with connection("warehouse") as conn:
            if args.yes:
                ensure_warehouse(conn)  # the deletion log and the rebuild requests (commits the bootstrap alone)
            result = purge_tenant(conn, args.tenant, execute=args.yes)
            if not args.yes:
                conn.rollback()
    except UnknownTenantError as exc:
        print(f"{where}: TENANT: {exc}", file=sys.stderr)
        return 2
    except DeletionError as exc:
        print(f"{where}: nothing was removed: {exc}", file=sys.stderr)
        return 1
    for line in result.lines():
        print(line)
    if not args.yes:
        print(f"{where}: nothing removed; run `meridian tenant purge {shlex.quote(result.tenant)} --yes` to remove "
              f"the rows above", file=sys.stderr)
        return 2
    print(f"logged as deletion request {result.request_id} (audit.deletion_requests); "
          f"the next transform run is a full refresh")
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.warehouse.bootstrap import ensure_warehouse
    from meridian.warehouse.deletion import UnknownUserError, forget_user
    from meridian.warehouse.tenants import UnknownTenantError

    where = f"meridian user {args.action}"
    try:
        with connection("warehouse") as conn:
            ensure_warehouse(conn)
            result = forget_user(conn, args.tenant, args.user)
    except UnknownTenantError as exc:
        print(f"{where}: TENANT: {exc}", file=sys.stderr)
        return 2
    except UnknownUserError as exc:
        print(f"{where}: USER: {exc}", file=sys.stderr)
        return 2
    for line in result.lines():
        print(line)
    print(f"logged as deletion request {result.request_id} (audit.deletion_requests, by the pseudonym only); "
          f"the next transform run is a full refresh")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from meridian.serve.api import create_app

    if args.workers > 1:  # each worker process has its own pool and cache (REDIS_URL shares the cache)
        uvicorn.run("meridian.serve.api:create_app", factory=True, host=args.host, port=args.port,
                    log_level=args.log_level, workers=args.workers, access_log=args.access_log)
    else:
        uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log)
    return 0


def cmd_api_key(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.serve.api import keys

    where = f"meridian api-key {args.action}"
    try:
        with connection("warehouse") as conn:
            if args.action == "create":
                new = keys.create_key(conn, args.tenant, args.name)
                print(f"API key {new.key_id} for tenant {new.tenant_id}{f' ({new.name})' if new.name else ''}; "
                      "it is shown only now, store it safely.")
                print(f"key: {new.key}")
            elif args.action == "list":
                print(keys.format_keys(keys.list_keys(conn, args.tenant)))
            elif args.action == "revoke":
                revoked = keys.revoke_key(conn, args.id)
                print(f"API key {args.id} revoked at {revoked:%Y-%m-%d %H:%M:%S} UTC")
    except (keys.UnknownTenantError, keys.UnknownKeyError) as exc:
        print(f"{where}: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


def cmd_bi(args: argparse.Namespace) -> int:
    from meridian.config import bi_password
    from meridian.db import connection
    from meridian.serve import bi

    where = f"meridian bi {args.action}"
    try:
        if args.action == "grant":
            password = bi.require_password(bi_password(), args.role)  # checked before connecting
            with connection("warehouse") as conn:
                lines = bi.grant(conn, args.tenant, args.role, password)
        elif args.action == "revoke":
            with connection("warehouse") as conn:
                lines = bi.revoke(conn, args.role)
        else:
            with connection("warehouse") as conn:
                lines = bi.listing(conn, include_api=args.all)
    except bi.BiCommandError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.serve import export

    where = f"meridian export {args.action}"
    try:
        export.check_request(args.tenant, args.start, args.end, args.format)  # before connecting
        with connection("warehouse") as conn:
            result = export.export_transactions(conn, tenant=args.tenant, start=args.start, end=args.end,
                                                output_format=args.format, output=args.output)
    except export.ExportError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    print(f"{where}: {result.summary_line()}", file=sys.stderr)
    return 0


def _size_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=whole_number(0), default=42,
                        help="random seed: the same seed and sizes give the same data (default 42)")
    parser.add_argument("--tenants", type=whole_number(1), default=3, help="number of tenants (default 3)")
    parser.add_argument("--users", type=whole_number(1, DEMO_MAX_USERS), default=20_000,
                        help="app users over all tenants (default 20000, about 2 M raw rows; 110000 is about 10 M)")
    parser.add_argument("--days", type=whole_number(1), default=180,
                        help="days of history ending at the end date (default 180)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="meridian", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    warehouse = sub.add_parser("warehouse", help="start, stop or inspect the embedded PostgreSQL")
    warehouse.add_argument("action", choices=["start", "stop", "status", "reset"],
                           help="start or stop the server, print its status, or reset: drop and recreate its data")
    warehouse.set_defaults(func=cmd_warehouse)

    gen = sub.add_parser("generate", help="generate demo data into the source databases and landing dir")
    _size_args(gen)
    gen.add_argument("--end-date", type=in_range_date, default=None, help="last generated day (default 2026-10-31)")
    gen.add_argument("--no-start", action="store_true", help="do not start the embedded warehouse")
    gen.set_defaults(func=cmd_generate)

    demo = sub.add_parser("demo", help="generate data and run the whole pipeline, ending in reports and mail")
    _size_args(demo)
    demo.add_argument("--as-of", type=in_range_date, default=None, help="as-of date (default: the last generated day)")
    demo.add_argument("--skip-generate", action="store_true", help="reuse the source data already generated")
    demo.add_argument("--scheduler", action="store_true",
                      help="run the chain through Airflow's scheduler and services (as `make ui` does) instead of "
                           "`airflow dags test`: its runs then show in the UI with their task logs")
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="measure extract rows/s, dbt build and DAG chain seconds")
    _size_args(bench)
    bench.add_argument("--api", action="store_true",
                       help="instead: the KPI read API's p50/p95/p99 per endpoint and requests/s on the demo warehouse")
    bench.add_argument("--tenant", default=None, help="with --api: the tenant to read (default: the first)")
    bench.add_argument("--requests", type=int, default=50, help="with --api: requests per endpoint (default 50)")
    bench.add_argument("--clients", type=int, default=16, help="with --api: concurrent clients (default 16)")
    bench.add_argument("--json", action="store_true", help="end with the run's figures as one JSON line")
    bench.add_argument("--skip-generate", action="store_true",
                       help="reuse the data the last `meridian generate` or bench wrote with the same --seed, "
                            "--tenants, --users and --days (refused if it differs)")
    bench.add_argument("--json-out", default=None, metavar="PATH",
                       help="where the run's JSON goes (default out/bench/bench-<events>.json)")
    bench.add_argument("--skip", action="append", default=[], choices=("bare-dbt", "reports"),
                       help="leave out a step of a long run (its figures are null in the JSON); repeatable")
    bench.add_argument("--readme", nargs="+", default=None, metavar="JSON",
                       help="instead: rewrite the README's figures block from these bench JSON files")
    bench.add_argument("--readme-file", default=None, metavar="PATH",
                       help="with --readme: the file holding the block (default README.md)")
    bench.set_defaults(func=cmd_bench)

    sub.add_parser("env", help="print export lines for this checkout's Airflow/dbt environment").set_defaults(
        func=cmd_env)
    for name, func in (("airflow", cmd_airflow), ("dbt", cmd_dbt)):
        passthrough = sub.add_parser(name, help=f"run {name} with this checkout's environment")
        passthrough.add_argument("rest", nargs=argparse.REMAINDER, help=f"arguments passed to {name} as they are")
        passthrough.set_defaults(func=func)
    sub.add_parser("dbt-parse", help="parse the dbt project (fails early on a broken project)").set_defaults(func=cmd_dbt_parse)
    sink = sub.add_parser("mail-sink", help="run the local SMTP sink in the foreground")
    sink.add_argument("--port", type=port, default=None, help="port to listen on (default MERIDIAN_SMTP_PORT, 8025)")
    sink.set_defaults(func=cmd_mail_sink)
    ui = sub.add_parser("ui", help="run Airflow's api-server, scheduler, dag-processor and triggerer over this "
                                   "checkout (metadata in the embedded PostgreSQL, DAGs unpaused); Ctrl-C stops them")
    ui.add_argument("--port", type=port, default=None,
                    help="port of the UI and REST API on 127.0.0.1 (default MERIDIAN_AIRFLOW_PORT, 8080)")
    ui.add_argument("--executor", choices=["LocalExecutor", "CeleryExecutor"], default="LocalExecutor",
                    help="LocalExecutor (default), or CeleryExecutor with a local Redis and --workers workers")
    ui.add_argument("--workers", type=whole_number(1, 8), default=2,
                    help="Celery worker processes with --executor CeleryExecutor (default 2)")
    ui.set_defaults(func=cmd_ui)

    reports = sub.add_parser("reports", help="create, list, pause, resume, run, render or resolve scheduled reports")
    actions = reports.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="schedule a report (validated before it is inserted)")
    create.add_argument("--tenant", required=True, help="the tenant (organization) id")
    create.add_argument("--name", required=True, help="the report's name, shown in its subject and files")
    create.add_argument("--type", default="revenue_summary", help="report type (default revenue_summary)")
    create.add_argument("--frequency", default="monthly", help="daily, weekly or monthly (default monthly)")
    create.add_argument("--formats", default="pdf,csv", help="comma-separated: pdf,csv,xlsx,html (default pdf,csv)")
    create.add_argument("--recipients", required=True, help="comma-separated e-mail addresses")
    create.add_argument("--parameters", default=None, help="a JSON object, e.g. '{\"trend_months\": 6}'")
    create.add_argument("--first-run", default=None,
                        help="first due time, YYYY-MM-DD (00:00 UTC) or ISO date-time "
                             "(default: the next period boundary)")
    listing = actions.add_parser("list", help="list scheduled reports")
    listing.add_argument("--tenant", default=None, help="only this tenant's reports (default: every tenant)")
    listing.add_argument("--all", action="store_true", help="include paused reports")
    for action, text in (("pause", "stop delivering a report"), ("resume", "deliver a paused report again")):
        actions.add_parser(action, help=text).add_argument("id", type=report_id, help="the report id (reports list)")
    run_now = actions.add_parser("run-now", help="deliver a report's due periods now (sent periods are not resent)")
    run_now.add_argument("id", type=report_id, help="the report id (reports list)")
    run_now.add_argument("--as-of", type=in_range_date, default=None, help="deliver as of YYYY-MM-DD 00:00 UTC (default: now)")
    run_now.add_argument("--out", default=None, help="folder for the files (default: the reports output dir)")
    resolve = actions.add_parser(
        "resolve", help="settle a delivery whose outcome is unknown: it arrived (--mark-sent) or not (--resend)")
    resolve.add_argument("id", type=report_id, help="the report id (reports list)")
    resolve.add_argument("--period", required=True, help="monthly YYYY-MM; weekly/daily YYYY-MM-DD (first day)")
    outcome = resolve.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--mark-sent", action="store_true", help="the message arrived: record it sent, move on")
    outcome.add_argument("--resend", action="store_true", help="it did not arrive: the next run sends it again")
    render = actions.add_parser("render", help="render a report to a folder; sends and records nothing")
    render.add_argument("--tenant", required=True, help="the tenant (organization) id")
    render.add_argument("--type", default="revenue_summary", help="report type (default revenue_summary)")
    render.add_argument("--period", required=True, help="monthly YYYY-MM; weekly/daily YYYY-MM-DD (first day)")
    render.add_argument("--frequency", default="monthly", help="daily, weekly or monthly (default monthly)")
    render.add_argument("--formats", default="pdf,csv,xlsx,html",
                        help="comma-separated: pdf,csv,xlsx,html (default all four)")
    render.add_argument("--parameters", default=None, help="a JSON object")
    render.add_argument("--out", required=True, help="folder to write the files into")
    reports.set_defaults(func=cmd_reports)

    tenant = sub.add_parser("tenant", help="delete a tenant's data on request")
    tenant_actions = tenant.add_subparsers(dest="action", required=True)
    purge = tenant_actions.add_parser(
        "purge", help="remove every row of a tenant from every warehouse schema, its API keys and BI roles "
                      "(docs/deletion.md)")
    purge.add_argument("tenant", metavar="TENANT", help="the tenant (organization) id")
    purge.add_argument("--yes", action="store_true",
                       help="remove for real; without it the command prints what it would remove and exits 2")
    tenant.set_defaults(func=cmd_tenant)

    user = sub.add_parser("user", help="detach a deleted user from their data on request")
    user_actions = user.add_subparsers(dest="action", required=True)
    forget = user_actions.add_parser(
        "forget", help="replace a user's id by a pseudonym in every row of the tenant and clear its e-mail; "
                       "counts stay (docs/deletion.md)")
    forget.add_argument("tenant", metavar="TENANT", help="the tenant (organization) id")
    forget.add_argument("user", metavar="USER", help="the user's id (app.users.id)")
    user.set_defaults(func=cmd_user)
    api = sub.add_parser("api", help="serve the KPI read API (docs/api.md) with uvicorn")
    api.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for every interface)")
    api.add_argument("--port", type=int, default=8090, help="port to listen on (default 8090)")
    api.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                     help="uvicorn's log level (default info)")
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    api.add_argument("--no-access-log", dest="access_log", action="store_false", help="no line per request")
    api.set_defaults(func=cmd_api)
    api_key = sub.add_parser("api-key", help="create, list or revoke per-tenant API keys")
    key_actions = api_key.add_subparsers(dest="action", required=True)
    key_create = key_actions.add_parser("create", help="a new key for a tenant (printed once, stored hashed)")
    key_create.add_argument("--tenant", required=True, help="the tenant (organization) id the key reads")
    key_create.add_argument("--name", default=None, help="a label, e.g. the dashboard that uses it")
    key_list = key_actions.add_parser("list", help="list keys (ids, tenants, status; never the secrets)")
    key_list.add_argument("--tenant", default=None, help="only this tenant's keys (default: every tenant)")
    key_actions.add_parser("revoke", help="revoke a key by its id").add_argument("id", help="the key id (api-key list)")
    api_key.set_defaults(func=cmd_api_key)

    bi_parser = sub.add_parser(
        "bi", help="per-tenant BI login roles: SELECT on every mart, one tenant's rows (row-level security)")
    bi_actions = bi_parser.add_subparsers(dest="action", required=True)
    bi_grant = bi_actions.add_parser(
        "grant", help="create or update a login role that sees only TENANT's rows of the marts; "
                      "the password comes from MERIDIAN_BI_PASSWORD")
    bi_grant.add_argument("tenant", help="tenant id (an organization of marts.dim_tenants)")
    bi_grant.add_argument("role", help="role name: lowercase letters, digits, underscores")
    bi_actions.add_parser("revoke", help="drop a tenant's BI role").add_argument(
        "role", help="the role name (bi list)")
    bi_list = bi_actions.add_parser("list", help="list the BI roles and their tenants")
    bi_list.add_argument("--all", action="store_true", help="include the KPI API's roles")
    bi_parser.set_defaults(func=cmd_bi)

    export_parser = sub.add_parser("export", help="export a tenant's accounting ledger (docs/export.md)")
    export_actions = export_parser.add_subparsers(dest="action", required=True)
    transactions = export_actions.add_parser(
        "transactions", help="the tenant's ledger rows booked from --from to --to (inclusive) as CSV or JSON")
    transactions.add_argument("--tenant", required=True, help="tenant (organization) id")
    transactions.add_argument("--from", dest="start", type=in_range_date, required=True,
                              help="first booked date, YYYY-MM-DD (UTC)")
    transactions.add_argument("--to", dest="end", type=in_range_date, required=True,
                              help="last booked date, YYYY-MM-DD (UTC)")
    transactions.add_argument("--format", choices=["csv", "json"], required=True,
                              help="csv: one row per transaction; json: one object per transaction")
    transactions.add_argument("--output", required=True, help="file to write (replaced whole)")
    export_parser.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (OSError, RuntimeError, ValueError, psycopg2.Error) as exc:
        detail = str(exc).strip().replace("\n", " ")
        print(f"meridian {args.command}: {detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
