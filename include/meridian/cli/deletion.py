"""``meridian tenant purge`` and ``meridian user forget``: deletion on request (docs/deletion.md).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from typing import Any


def _attempt(where: str, work: Callable[[], Any], refusals: dict[type[Exception], tuple[str, int]]) -> tuple[Any, int]:
    """``work()``'s result and 0, its rows printed; or, for an error of ``refusals`` (checked in their order),
    the error printed after its prefix and the exit code it maps to."""
    try:
        result = work()
    except tuple(refusals) as exc:
        prefix, code = next(refusal for kind, refusal in refusals.items() if isinstance(exc, kind))
        print(f"{where}: {prefix}{exc}", file=sys.stderr)
        return None, code
    for line in result.lines():
        print(line)
    return result, 0


def cmd_tenant(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.warehouse.bootstrap import ensure_warehouse
    from meridian.warehouse.deletion import DeletionError, purge_tenant
    from meridian.warehouse.tenants import UnknownTenantError

    def purge() -> Any:
        with connection("warehouse") as conn:
            if args.yes:
                ensure_warehouse(conn)  # the deletion log and the rebuild requests (commits the bootstrap alone)
            result = purge_tenant(conn, args.tenant, execute=args.yes)
            if not args.yes:
                conn.rollback()
        return result

    where = f"meridian tenant {args.action}"
    result, refused = _attempt(where, purge, {UnknownTenantError: ("TENANT: ", 2),
                                              DeletionError: ("nothing was removed: ", 1)})
    if refused:
        return refused
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

    def forget() -> Any:
        with connection("warehouse") as conn:
            ensure_warehouse(conn)
            return forget_user(conn, args.tenant, args.user)

    where = f"meridian user {args.action}"
    result, refused = _attempt(where, forget, {UnknownTenantError: ("TENANT: ", 2), UnknownUserError: ("USER: ", 2)})
    if refused:
        return refused
    print(f"logged as deletion request {result.request_id} (audit.deletion_requests, by the pseudonym only); "
          f"the next transform run is a full refresh")
    return 0


def _tenant_action(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], command: str, help: str, action: str, action_help: str,
    func: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """``meridian <command> <action> TENANT``: a command with one required action whose first argument is the
    tenant; returns the action's parser for the arguments after it."""
    parser = sub.add_parser(command, help=help)
    action_parser = parser.add_subparsers(dest="action", required=True).add_parser(action, help=action_help)
    action_parser.add_argument("tenant", metavar="TENANT", help="the tenant (organization) id")
    parser.set_defaults(func=func)
    return action_parser


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these subcommands to ``meridian``'s (in the order ``meridian --help`` lists them)."""
    purge = _tenant_action(
        sub, "tenant", "delete a tenant's data on request",
        "purge", "remove every row of a tenant from every warehouse schema, its API keys and BI roles "
                 "(docs/deletion.md)",
        cmd_tenant)
    purge.add_argument("--yes", action="store_true",
                       help="remove for real; without it the command prints what it would remove and exits 2")
    forget = _tenant_action(
        sub, "user", "detach a deleted user from their data on request",
        "forget", "replace a user's id by a pseudonym in every row of the tenant and clear its e-mail; "
                  "counts stay (docs/deletion.md)",
        cmd_user)
    forget.add_argument("user", metavar="USER", help="the user's id (app.users.id)")
