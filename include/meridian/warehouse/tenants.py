"""Which tenants the warehouse knows: the source of truth for every command that takes a tenant.

A tenant is an organization (docs/sources.md): it is known once its organization
row has landed in ``raw.app__organizations``. That is the list staging's
``unknown_tenant`` rule checks every row against (the ``known_tenants`` dbt
macro reads the landed organization ids), so a command accepts exactly the
tenants whose rows the pipeline accepts. It needs one extract, not a built
transform, and a purged tenant (``meridian tenant purge``) is unknown again.
"""

from __future__ import annotations

import psycopg2.extensions

from meridian.values import shown

ORGANIZATIONS_TABLE = "raw.app__organizations"
# how many known ids an error message lists
SHOWN_TENANTS = 10


class UnknownTenantError(LookupError):
    """``tenant`` is not an organization the warehouse has landed."""

    def __init__(self, tenant: str, known: list[str]) -> None:
        if not known:
            message = (
                f"unknown tenant {shown(tenant)}: no organization has landed in the warehouse yet "
                f"({ORGANIZATIONS_TABLE} is missing or empty; run extract_sources first)"
            )
        else:
            listed = ", ".join(known[:SHOWN_TENANTS])
            more = f" and {len(known) - SHOWN_TENANTS} more" if len(known) > SHOWN_TENANTS else ""
            message = (
                f"unknown tenant {shown(tenant)}: no organization with this id in {ORGANIZATIONS_TABLE} "
                f"(known: {listed}{more})"
            )
        super().__init__(message)
        self.tenant = tenant
        self.known = known
        self.message = message

    def __str__(self) -> str:
        return self.message


def known_tenants(conn: psycopg2.extensions.connection) -> list[str]:
    """The organization ids landed in ``raw.app__organizations``, sorted (empty when none landed yet)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (ORGANIZATIONS_TABLE,))
        if not cur.fetchone()[0]:
            return []
        cur.execute(
            f"select distinct id from {ORGANIZATIONS_TABLE} where id is not null and id <> '' order by id"
        )
        return [row[0] for row in cur.fetchall()]


def is_known_tenant(conn: psycopg2.extensions.connection, tenant: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (ORGANIZATIONS_TABLE,))
        if not cur.fetchone()[0]:
            return False
        cur.execute(f"select exists (select 1 from {ORGANIZATIONS_TABLE} where id = %s)", (tenant,))
        return bool(cur.fetchone()[0])


def check_tenant(conn: psycopg2.extensions.connection, tenant: str) -> str:
    """``tenant`` when it is a known organization id; raises :class:`UnknownTenantError` naming it otherwise."""
    if not is_known_tenant(conn, tenant):
        raise UnknownTenantError(tenant, known_tenants(conn))
    return tenant
