"""``meridian bi grant|revoke|list``: login roles for BI tools that see one tenant's rows of the marts.

The logic behind the command line: every action takes an open connection to the warehouse (as
the pipeline's role, which owns the marts and may create roles) and returns the lines to print.
"""

from __future__ import annotations

from typing import Any

from meridian.serve import rls
from meridian.warehouse.bootstrap import ensure_warehouse


class BiCommandError(ValueError):
    """The command cannot do what was asked (exit 2); the message names the bad value."""


def require_password(password: str | None, role_name: str) -> str:
    """The password from MERIDIAN_BI_PASSWORD, or BiCommandError saying how to give one."""
    if not password:
        raise BiCommandError(
            f"set the environment variable MERIDIAN_BI_PASSWORD to the password for role {role_name!r} "
            "(it is never taken from the command line)"
        )
    return password


def grant(conn: Any, tenant_id: str, role_name: str, password: str) -> list[str]:
    """Create or update ``role_name`` as ``tenant_id``'s BI login, then make sure every mart is secured."""
    try:
        rls.check_role_name(role_name)
        ensure_warehouse(conn)
        try:
            tenants = rls.known_tenants(conn)
        except RuntimeError as exc:
            raise BiCommandError(f"cannot check tenant {tenant_id!r}: {exc}") from exc
        if tenant_id not in tenants:
            shown = ", ".join(tenants[:20]) + (", ..." if len(tenants) > 20 else "")
            raise BiCommandError(
                f"unknown tenant {tenant_id!r}: not an organization in the warehouse (marts.dim_tenants has: "
                f"{shown or 'no tenants yet'})"
            )
        existed = any(row["role_name"] == role_name for row in rls.list_tenant_roles(conn))
        rls.ensure_tenant_role(conn, tenant_id, role_name, password=password, kind="bi")
        secured = rls.apply_row_security(conn)
    except rls.TenantRoleError as exc:
        raise BiCommandError(str(exc)) from exc
    lines = [f"{'updated' if existed else 'created'} login role {role_name} for tenant {tenant_id}: SELECT on every "
             "mart in schema marts, only that tenant's rows; no other schema; no writes"]
    if secured:
        lines.append(f"row-level security applied to {len(secured)} mart(s): {', '.join(secured)}")
    return lines


def revoke(conn: Any, role_name: str) -> list[str]:
    """Drop a tenant role and its mapping."""
    try:
        rls.drop_tenant_role(conn, role_name)
    except rls.TenantRoleError as exc:
        raise BiCommandError(str(exc)) from exc
    return [f"dropped role {role_name}"]


def listing(conn: Any, *, include_api: bool = False) -> list[str]:
    """The tenant roles as a table (BI logins; with ``include_api`` the API roles too)."""
    rows = [row for row in rls.list_tenant_roles(conn) if include_api or row["kind"] == "bi"]
    if not rows:
        return ["no BI roles yet: meridian bi grant TENANT ROLE (password in MERIDIAN_BI_PASSWORD)"]
    header = ("role", "tenant", "kind", "login", "created")
    table = [header] + [
        (row["role_name"], row["tenant_id"], row["kind"],
         ("yes" if row["can_login"] else "no") if row["role_exists"] else "role missing",
         f"{row['created_at']:%Y-%m-%d %H:%M}")
        for row in rows
    ]
    widths = [max(len(str(line[index])) for line in table) for index in range(len(header))]
    return ["  ".join(str(value).ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
            for line in table]
