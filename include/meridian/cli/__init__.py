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
import sys

import psycopg2

from meridian.cli import deletion, local, reports, serve
from meridian.cli.arguments import Parser

# one module per group of subcommands, in the order of the list above
COMMAND_MODULES = (local, reports, deletion, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="meridian", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for commands in COMMAND_MODULES:
        commands.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # a line per HTTP request (the bench's and the API commands' clients) would bury the command's own output
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (OSError, RuntimeError, ValueError, psycopg2.Error) as exc:
        detail = str(exc).strip().replace("\n", " ")
        print(f"meridian {args.command}: {detail}", file=sys.stderr)
        return 1
