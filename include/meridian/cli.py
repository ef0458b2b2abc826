"""``meridian``: the command line of the stack.

    meridian warehouse start|stop|status|reset   the embedded PostgreSQL
    meridian generate [--seed ...]                demo data into the source databases + event files
    meridian demo [--as-of YYYY-MM-DD]            the whole chain, ending in reports and mail
    meridian bench                                throughput and timing figures at the demo size
    meridian env                                  export lines for running airflow/dbt by hand
    meridian airflow ARGS... / meridian dbt ARGS...  airflow or dbt with this checkout's environment
    meridian dbt-parse                            parse the dbt project (fails early on a broken project)
    meridian mail-sink                            run the local SMTP sink (writes out/mail/*.eml)
    meridian ui                                   airflow standalone on :8080 over this checkout
    meridian reports create|list|pause|resume|run-now|render|resolve   manage scheduled reports
    meridian api [--host --port]                  the KPI read API (uvicorn)
    meridian api-key create|list|revoke           per-tenant API keys (stored hashed)
    meridian bench --api                          the KPI read API's latency and throughput
    meridian bi grant TENANT ROLE | revoke ROLE | list   per-tenant BI logins (row-level security on the marts)
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from datetime import date


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from exc


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


def cmd_generate(args: argparse.Namespace) -> int:
    from meridian.demo.generate import DEFAULT_END_DATE, generate
    from meridian.warehouse import embedded

    if not args.no_start:
        embedded.start()
    summary = generate(
        seed=args.seed, tenants=args.tenants, users=args.users, days=args.days, end_date=args.end_date or DEFAULT_END_DATE,
        progress=True,
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


def cmd_ui(args: argparse.Namespace) -> int:
    from meridian.airflow_env import run_airflow
    from meridian.warehouse import embedded

    embedded.start()
    print("Airflow UI on http://localhost:8080 — the admin password is printed below and kept in "
          "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated")
    return run_airflow(["standalone"], check=False).returncode


def cmd_demo(args: argparse.Namespace) -> int:
    from meridian.demo.pipeline import run_demo

    return run_demo(
        as_of=args.as_of, seed=args.seed, tenants=args.tenants, users=args.users, days=args.days,
        skip_generate=args.skip_generate,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    if args.api:
        from meridian.demo.bench_api import run_api_bench

        return run_api_bench(tenant=args.tenant, requests=args.requests, clients=args.clients)
    from meridian.demo.bench import run_bench

    return run_bench(seed=args.seed, tenants=args.tenants, users=args.users, days=args.days)


def cmd_reports(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.reports import manage
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
            report, results = manage.run_now(args.id, now=now, out_dir=args.out)
            if not results:
                print(f"scheduled report {report.id}: nothing due (next run {report.next_run_at:%Y-%m-%d %H:%M} UTC)")
            for result in results:
                print(manage.describe_result(result))
                for path in result.files:
                    print(f"  {path}")
            return 1 if any(result.status == "failed" for result in results) else 0
        elif args.action == "resolve":
            with connection("warehouse") as conn:
                _, _, done = manage.resolve_delivery(
                    conn, args.id, args.period, manage.RESEND if args.resend else manage.MARK_SENT
                )
            print(done)
        elif args.action == "render":
            rendered = manage.render_adhoc(
                tenant=args.tenant, report_type=args.type, period=args.period, frequency=args.frequency,
                formats=args.formats, parameters=args.parameters, out_dir=args.out,
            )
            if rendered.warning:
                print(f"{where}: warning: the marts may not cover {rendered.period.label} yet: {rendered.warning}",
                      file=sys.stderr)
            for path in rendered.files:
                print(path)
    except ReportConfigError as exc:
        print(f"{where}: invalid {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    except manage.ReportNotFoundError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
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


def _size_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meridian", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    warehouse = sub.add_parser("warehouse", help="start, stop or inspect the embedded PostgreSQL")
    warehouse.add_argument("action", choices=["start", "stop", "status", "reset"])
    warehouse.set_defaults(func=cmd_warehouse)

    gen = sub.add_parser("generate", help="generate demo data into the source databases and landing dir")
    _size_args(gen)
    gen.add_argument("--end-date", type=_date, default=None, help="last generated day (default 2026-10-31)")
    gen.add_argument("--no-start", action="store_true", help="do not start the embedded warehouse")
    gen.set_defaults(func=cmd_generate)

    demo = sub.add_parser("demo", help="generate data and run the whole pipeline, ending in reports and mail")
    _size_args(demo)
    demo.add_argument("--as-of", type=_date, default=None, help="as-of date (default: the last generated day)")
    demo.add_argument("--skip-generate", action="store_true", help="reuse the source data already generated")
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="measure extract rows/s, dbt build and DAG chain seconds")
    _size_args(bench)
    bench.add_argument("--api", action="store_true",
                       help="instead: the KPI read API's p50/p95/p99 per endpoint and requests/s on the demo warehouse")
    bench.add_argument("--tenant", default=None, help="with --api: the tenant to read (default: the first)")
    bench.add_argument("--requests", type=int, default=50, help="with --api: requests per endpoint (default 50)")
    bench.add_argument("--clients", type=int, default=16, help="with --api: concurrent clients (default 16)")
    bench.set_defaults(func=cmd_bench)

    sub.add_parser("env", help="print export lines for this checkout's Airflow/dbt environment").set_defaults(
        func=cmd_env)
    for name, func in (("airflow", cmd_airflow), ("dbt", cmd_dbt)):
        passthrough = sub.add_parser(name, help=f"run {name} with this checkout's environment")
        passthrough.add_argument("rest", nargs=argparse.REMAINDER)
        passthrough.set_defaults(func=func)
    sub.add_parser("dbt-parse", help="parse the dbt project (fails early on a broken project)").set_defaults(func=cmd_dbt_parse)
    sink = sub.add_parser("mail-sink", help="run the local SMTP sink in the foreground")
    sink.add_argument("--port", type=int, default=None)
    sink.set_defaults(func=cmd_mail_sink)
    sub.add_parser("ui", help="serve the Airflow UI (airflow standalone) on :8080").set_defaults(func=cmd_ui)

    reports = sub.add_parser("reports", help="create, list, pause, resume, run, render or resolve scheduled reports")
    actions = reports.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="schedule a report (validated before it is inserted)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--type", default="revenue_summary", help="report type (default revenue_summary)")
    create.add_argument("--frequency", default="monthly", help="daily, weekly or monthly (default monthly)")
    create.add_argument("--formats", default="pdf,csv", help="comma-separated: pdf,csv,xlsx,html (default pdf,csv)")
    create.add_argument("--recipients", required=True, help="comma-separated e-mail addresses")
    create.add_argument("--parameters", default=None, help="a JSON object, e.g. '{\"trend_months\": 6}'")
    create.add_argument("--first-run", default=None,
                        help="first due time, YYYY-MM-DD (00:00 UTC) or ISO date-time "
                             "(default: the next period boundary)")
    listing = actions.add_parser("list", help="list scheduled reports")
    listing.add_argument("--tenant", default=None)
    listing.add_argument("--all", action="store_true", help="include paused reports")
    for action, text in (("pause", "stop delivering a report"), ("resume", "deliver a paused report again")):
        actions.add_parser(action, help=text).add_argument("id", type=int)
    run_now = actions.add_parser("run-now", help="deliver a report's due periods now (sent periods are not resent)")
    run_now.add_argument("id", type=int)
    run_now.add_argument("--as-of", type=_date, default=None, help="deliver as of YYYY-MM-DD 00:00 UTC (default: now)")
    run_now.add_argument("--out", default=None, help="folder for the files (default: the reports output dir)")
    resolve = actions.add_parser(
        "resolve", help="settle a delivery whose outcome is unknown: it arrived (--mark-sent) or not (--resend)")
    resolve.add_argument("id", type=int)
    resolve.add_argument("--period", required=True, help="monthly YYYY-MM; weekly/daily YYYY-MM-DD (first day)")
    outcome = resolve.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--mark-sent", action="store_true", help="the message arrived: record it sent, move on")
    outcome.add_argument("--resend", action="store_true", help="it did not arrive: the next run sends it again")
    render = actions.add_parser("render", help="render a report to a folder; sends and records nothing")
    render.add_argument("--tenant", required=True)
    render.add_argument("--type", default="revenue_summary")
    render.add_argument("--period", required=True, help="monthly YYYY-MM; weekly/daily YYYY-MM-DD (first day)")
    render.add_argument("--frequency", default="monthly")
    render.add_argument("--formats", default="pdf,csv,xlsx,html")
    render.add_argument("--parameters", default=None, help="a JSON object")
    render.add_argument("--out", required=True, help="folder to write the files into")
    reports.set_defaults(func=cmd_reports)

    api = sub.add_parser("api", help="serve the KPI read API (shared/API.md) with uvicorn")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8090)
    api.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    api.add_argument("--no-access-log", dest="access_log", action="store_false", help="no line per request")
    api.set_defaults(func=cmd_api)
    api_key = sub.add_parser("api-key", help="create, list or revoke per-tenant API keys")
    key_actions = api_key.add_subparsers(dest="action", required=True)
    key_create = key_actions.add_parser("create", help="a new key for a tenant (printed once, stored hashed)")
    key_create.add_argument("--tenant", required=True)
    key_create.add_argument("--name", default=None, help="a label, e.g. the dashboard that uses it")
    key_list = key_actions.add_parser("list", help="list keys (ids, tenants, status; never the secrets)")
    key_list.add_argument("--tenant", default=None)
    key_actions.add_parser("revoke", help="revoke a key by its id").add_argument("id")
    api_key.set_defaults(func=cmd_api_key)

    bi_parser = sub.add_parser(
        "bi", help="per-tenant BI login roles: SELECT on every mart, one tenant's rows (row-level security)")
    bi_actions = bi_parser.add_subparsers(dest="action", required=True)
    bi_grant = bi_actions.add_parser(
        "grant", help="create or update a login role that sees only TENANT's rows of the marts; "
                      "the password comes from MERIDIAN_BI_PASSWORD")
    bi_grant.add_argument("tenant", help="tenant id (an organization of marts.dim_tenants)")
    bi_grant.add_argument("role", help="role name: lowercase letters, digits, underscores")
    bi_actions.add_parser("revoke", help="drop a tenant's BI role").add_argument("role")
    bi_list = bi_actions.add_parser("list", help="list the BI roles and their tenants")
    bi_list.add_argument("--all", action="store_true", help="include the KPI API's roles")
    bi_parser.set_defaults(func=cmd_bi)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConnectionError, RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"meridian {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
