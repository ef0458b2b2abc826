"""``meridian`` commands for the local stack: the embedded PostgreSQL, demo data, the demo, the bench, Airflow
and dbt with this checkout's environment, the SMTP sink and ``meridian ui``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import date, timedelta

from meridian.cli.arguments import in_range_date, port, whole_number
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
    from meridian.devtools.bench_result import BenchArgumentError, check_bench_options

    try:
        json_out = check_bench_options(args)
    except BenchArgumentError as exc:
        print(f"meridian bench: {exc}", file=sys.stderr)
        return 2
    if args.readme:
        from meridian.devtools.bench_readme import update_readme

        return update_readme(args.readme, args.readme_file)
    if args.api:
        from meridian.devtools.bench_api import run_api_bench

        return run_api_bench(tenant=args.tenant, requests=args.requests, clients=args.clients)
    from meridian.demo.generate import DEFAULT_END_DATE
    from meridian.devtools.bench import BenchOptions, run_bench

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

def _size_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=whole_number(0), default=42,
                        help="random seed: the same seed and sizes give the same data (default 42)")
    parser.add_argument("--tenants", type=whole_number(1), default=3, help="number of tenants (default 3)")
    parser.add_argument("--users", type=whole_number(1, DEMO_MAX_USERS), default=20_000,
                        help="app users over all tenants (default 20000, about 2 M raw rows; 110000 is about 10 M)")
    parser.add_argument("--days", type=whole_number(1), default=180,
                        help="days of history ending at the end date (default 180)")



def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these subcommands to ``meridian``'s (in the order ``meridian --help`` lists them)."""
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
