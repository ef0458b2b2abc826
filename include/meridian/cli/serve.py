"""``meridian api``, ``api-key``, ``bi`` and ``export``: serving the marts (docs/api.md, docs/bi.md, docs/export.md).
"""

from __future__ import annotations

import argparse
import sys

from meridian.cli.arguments import in_range_date


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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these subcommands to ``meridian``'s (in the order ``meridian --help`` lists them)."""
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
