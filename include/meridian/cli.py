"""``meridian``: the command line of the stack.

    meridian warehouse start|stop|status|reset   the embedded PostgreSQL
    meridian generate [--seed ...]                demo data into the source databases + event files
    meridian demo [--as-of YYYY-MM-DD]            the whole chain, ending in reports and mail
    meridian bench                                throughput and timing figures at the demo size
    meridian env                                  export lines for running airflow/dbt by hand
    meridian airflow ARGS... / meridian dbt ARGS...  airflow or dbt with this checkout's environment
    meridian dbt-parse                            build dbt_project/target/manifest.json for Cosmos
    meridian mail-sink                            run the local SMTP sink (writes out/mail/*.eml)
    meridian ui                                   airflow standalone on :8080 over this checkout
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
    from meridian.demo.bench import run_bench

    return run_bench(seed=args.seed, tenants=args.tenants, users=args.users, days=args.days)


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
    bench.set_defaults(func=cmd_bench)

    sub.add_parser("env", help="print export lines for this checkout's Airflow/dbt environment").set_defaults(
        func=cmd_env)
    for name, func in (("airflow", cmd_airflow), ("dbt", cmd_dbt)):
        passthrough = sub.add_parser(name, help=f"run {name} with this checkout's environment")
        passthrough.add_argument("rest", nargs=argparse.REMAINDER)
        passthrough.set_defaults(func=func)
    sub.add_parser("dbt-parse", help="build the dbt manifest Cosmos renders from").set_defaults(func=cmd_dbt_parse)
    sink = sub.add_parser("mail-sink", help="run the local SMTP sink in the foreground")
    sink.add_argument("--port", type=int, default=None)
    sink.set_defaults(func=cmd_mail_sink)
    sub.add_parser("ui", help="serve the Airflow UI (airflow standalone) on :8080").set_defaults(func=cmd_ui)
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
