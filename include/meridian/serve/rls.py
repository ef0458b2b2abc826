"""Row-level security per tenant on the marts: tenant roles, the role → tenant mapping, scoped queries.

Every table of schema ``marts`` with a ``tenant_id`` column has row-level security enabled and
forced, a policy ``tenant_isolation`` (``tenant_id = security.current_tenant_id()``) and SELECT
granted to the group role ``meridian_tenant_reader``; the table's owner (the pipeline's role,
which dbt builds and reads the marts as) keeps every row through a second policy,
``pipeline_owner``. The SQL objects live in schema ``security`` (meridian.warehouse.security,
created by the warehouse bootstrap); dbt re-applies them after every build.

A tenant role is a member of ``meridian_tenant_reader`` mapped to one tenant in
``security.tenant_roles``: kind ``bi`` (a login for a BI tool, ``meridian bi grant``) or ``api``
(NOLOGIN; the KPI API switches to it with :func:`tenant_scope` for every query of a request).

Works with a psycopg2 or a psycopg (3) connection: only the DB-API surface both share is used.
Needs PostgreSQL 16 or later (role membership options SET and INHERIT); the embedded server and
docker-compose run 18.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from meridian.warehouse.security import TENANT_READER

KINDS = ("bi", "api")
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LOCK = "select pg_advisory_xact_lock(hashtext('meridian.tenant_roles'))"
_IDLE = 0  # transaction status of a connection outside a transaction (psycopg2 and psycopg alike)


class TenantRoleError(ValueError):
    """A tenant role cannot be created, changed or dropped as asked (the message says why)."""


def check_role_name(role_name: str) -> str:
    """``role_name`` when it is a plain lowercase PostgreSQL name, else TenantRoleError."""
    if not isinstance(role_name, str) or not ROLE_NAME.fullmatch(role_name) or role_name.startswith("pg_"):
        raise TenantRoleError(
            f"role name {role_name!r} is not allowed: use 1-63 lowercase letters, digits and underscores, "
            "starting with a letter or underscore and not with pg_"
        )
    return role_name


def _quoted(role_name: str) -> str:
    return '"' + check_role_name(role_name) + '"'


def api_role_name(tenant_id: str) -> str:
    """The API role of a tenant: ``meridian_api_`` and a hash of the tenant id (any tenant id gives a valid name)."""
    return "meridian_api_" + hashlib.sha256(tenant_id.encode()).hexdigest()[:16]


def _rows(cur: Any) -> list[dict]:
    columns = [column[0] for column in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def apply_row_security(conn: Any) -> list[str]:
    """Row-level security enabled and forced, the policies and the grants on every mart (idempotent).

    Returns the marts it changed (none when every mart was already secured). Marts without a
    ``tenant_id`` column, and views, get no grant: tenant roles cannot read them (the server
    logs a warning naming each).
    """
    with conn.cursor() as cur:
        cur.execute("select to_regprocedure('security.apply_row_security()') is not null")
        if not cur.fetchone()[0]:
            raise RuntimeError(
                "schema security is missing from the warehouse: run the warehouse bootstrap first "
                "(meridian.warehouse.bootstrap.ensure_warehouse, run by every extract_sources run)"
            )
        cur.execute("select * from security.apply_row_security()")
        return [row[0] for row in cur.fetchall()]


def _role_facts(cur: Any, role_name: str) -> dict:
    """What decides whether a role may be a tenant role: exists, privileged, is_reader, tenant_id, kind."""
    cur.execute(
        """
        select
            role.rolsuper or role.rolcreaterole or role.rolcreatedb or role.rolreplication or role.rolbypassrls
                as privileged,
            pg_has_role(role.oid, %s, 'member') as is_reader,
            role.rolcanlogin as can_login,
            array(
                select other.rolname::text from pg_roles as other
                where pg_has_role(role.oid, other.oid, 'member') and other.oid <> role.oid and other.rolname <> %s
                order by other.rolname
            ) as other_roles
        from pg_roles as role
        where role.rolname = %s
        """,
        (TENANT_READER, TENANT_READER, role_name),
    )
    role = _rows(cur)
    cur.execute("select tenant_id, kind from security.tenant_roles where role_name = %s", (role_name,))
    mapping = _rows(cur)
    return {
        "exists": bool(role),
        "privileged": bool(role) and role[0]["privileged"],
        "is_reader": bool(role) and role[0]["is_reader"],
        "can_login": bool(role) and role[0]["can_login"],
        "other_roles": role[0]["other_roles"] if role else [],
        "tenant_id": mapping[0]["tenant_id"] if mapping else None,
        "kind": mapping[0]["kind"] if mapping else None,
    }


def _adoptable(facts: dict) -> bool:
    """An existing role is managed here when unprivileged and mapped or already a reader (a mapping lost
    with a dropped schema security leaves its roles members of the cluster-wide reader role)."""
    return not facts["privileged"] and (facts["tenant_id"] is not None or facts["is_reader"])


def _reader_memberships(cur: Any) -> list[str]:
    """The roles meridian_tenant_reader is a member of (must be none: every tenant role would inherit them)."""
    cur.execute("select array(select rolname::text from pg_roles where pg_has_role(%s, oid, 'member') "
                "and rolname <> %s order by rolname)", (TENANT_READER, TENANT_READER))
    return cur.fetchone()[0]


def _encrypted_password(conn: Any, password: str, role_name: str) -> str:
    """The server's password hash (SCRAM) computed here, so the clear password is never sent in SQL."""
    if hasattr(conn, "pgconn"):  # psycopg 3
        return conn.pgconn.encrypt_password(password.encode(), role_name.encode()).decode()
    from psycopg2.extensions import encrypt_password

    return encrypt_password(password, role_name, conn)


def ensure_tenant_role(conn: Any, tenant_id: str, role_name: str, *, password: str | None, kind: str) -> None:
    """Create or update a tenant role: a member of meridian_tenant_reader mapped to ``tenant_id``.

    LOGIN with ``password`` when one is given, else NOLOGIN. An ``api`` role is also granted to the
    connecting role (SET, not INHERIT), so :func:`tenant_scope` can switch to it. A role that exists
    but is not a tenant role (not a member of meridian_tenant_reader, or with any of SUPERUSER,
    CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS) is refused, as is changing a role's kind. Runs in
    the caller's transaction.
    """
    quoted = _quoted(role_name)
    if kind not in KINDS:
        raise TenantRoleError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise TenantRoleError(f"tenant id {tenant_id!r} is empty")
    if kind == "api" and password is not None:
        raise TenantRoleError(f"API role {role_name!r} cannot log in: create it without a password")
    if password is not None and not password:
        raise TenantRoleError(f"the password for role {role_name!r} is empty")
    with conn.cursor() as cur:
        cur.execute(_LOCK)
        cur.execute("select rolname from pg_roles where rolname = %s", (TENANT_READER,))
        if cur.fetchone() is None:
            raise TenantRoleError(
                f"group role {TENANT_READER} does not exist: the warehouse bootstrap creates it when its role "
                "has CREATEROLE (or a superuser runs: create role meridian_tenant_reader nologin)"
            )
        inherited = _reader_memberships(cur)
        if inherited:
            raise TenantRoleError(f"group role {TENANT_READER} is a member of {', '.join(inherited)}: every tenant "
                                  f"role would have their privileges; revoke them from {TENANT_READER} first")
        facts = _role_facts(cur, role_name)
        role_exists = facts["exists"]
        if role_exists and not _adoptable(facts):
            raise TenantRoleError(
                f"role {role_name!r} already exists and is not a Meridian tenant role (tenant roles are members of "
                f"{TENANT_READER} without SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS); "
                "choose another name"
            )
        if role_exists and facts["other_roles"]:
            raise TenantRoleError(
                f"tenant role {role_name!r} is also a member of {', '.join(facts['other_roles'])}, which could give "
                f"it more than one tenant's rows: revoke that membership first"
            )
        if facts["kind"] is not None and facts["kind"] != kind:
            raise TenantRoleError(f"role {role_name!r} is of kind {facts['kind']} (tenant {facts['tenant_id']!r}); "
                                  f"it cannot become kind {kind}")
        # only what is missing: an API role that exists needs no privilege on it beyond SET
        if password is not None:
            verb = "alter" if role_exists else "create"
            cur.execute(f"{verb} role {quoted} login password %s", (_encrypted_password(conn, password, role_name),))
        elif not role_exists:
            cur.execute(f"create role {quoted} nologin")
        elif facts["can_login"]:
            cur.execute(f"alter role {quoted} nologin password null")
        if not facts["is_reader"]:
            cur.execute(f"grant {TENANT_READER} to {quoted}")
        if kind == "api":
            cur.execute("select pg_has_role(session_user, %s, 'set')", (role_name,))
            if not cur.fetchone()[0]:
                cur.execute(f"grant {quoted} to session_user with set true, inherit false")
        cur.execute(
            """
            insert into security.tenant_roles (role_name, tenant_id, kind) values (%s, %s, %s)
            on conflict (role_name) do update set tenant_id = excluded.tenant_id
            where tenant_roles.tenant_id <> excluded.tenant_id
            """,
            (role_name, tenant_id, kind),
        )


def drop_tenant_role(conn: Any, role_name: str) -> None:
    """Drop a tenant role and its mapping. Refuses a role that is not a tenant role. Runs in the caller's transaction."""
    quoted = _quoted(role_name)
    with conn.cursor() as cur:
        cur.execute(_LOCK)
        facts = _role_facts(cur, role_name)
        if not facts["exists"] and facts["tenant_id"] is None:
            raise TenantRoleError(f"there is no tenant role named {role_name!r}")
        if facts["exists"] and not _adoptable(facts):
            raise TenantRoleError(f"role {role_name!r} is not a Meridian tenant role; it was not dropped")
        # the mapping goes first: a session still open under the role sees no rows from here on
        cur.execute("delete from security.tenant_roles where role_name = %s", (role_name,))
        if facts["exists"]:
            cur.execute(f"drop role {quoted}")


def list_tenant_roles(conn: Any) -> list[dict]:
    """Every tenant role: role_name, tenant_id, kind, created_at, can_login, role_exists."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select mapping.role_name, mapping.tenant_id, mapping.kind, mapping.created_at,
                coalesce(role.rolcanlogin, false) as can_login, role.oid is not null as role_exists
            from security.tenant_roles as mapping
            left join pg_roles as role on role.rolname = mapping.role_name
            order by mapping.tenant_id, mapping.kind, mapping.role_name
            """
        )
        return _rows(cur)


def tenant_exists(conn: Any, tenant_id: str) -> bool:
    """Whether ``tenant_id`` is a tenant (organization) of the marts (``marts.dim_tenants``)."""
    return tenant_id in known_tenants(conn)


def known_tenants(conn: Any) -> list[str]:
    """The tenants of ``marts.dim_tenants``, as the connecting role sees them. RuntimeError before the first build."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('marts.dim_tenants') is not null")
        if not cur.fetchone()[0]:
            raise RuntimeError("marts.dim_tenants does not exist yet: run transform_warehouse first, "
                               "then grant roles for the tenants it lists")
        cur.execute("select tenant_id from marts.dim_tenants order by tenant_id")
        return [row[0] for row in cur.fetchall()]


@contextmanager
def tenant_scope(conn: Any, tenant_id: str) -> Iterator[Any]:
    """A transaction in which every query runs as ``tenant_id``'s API role, under its row-level security.

    Yields a cursor of ``conn`` (any cursor of ``conn`` is scoped alike until the block ends). The
    connection must be outside a transaction; the block's transaction is committed when it ends
    (rolled back on an exception), which ends the ``SET LOCAL ROLE``, and the connection's
    autocommit setting is restored. The API role is created on first use (the connecting role
    then needs CREATEROLE and becomes a member of it).
    """
    if conn.info.transaction_status != _IDLE:
        raise RuntimeError(
            f"tenant_scope({tenant_id!r}) needs a connection outside a transaction: commit or roll back first"
        )
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        cur = conn.cursor()
        try:
            role = _set_api_role(cur, tenant_id)
            if role is None:
                ensure_tenant_role(conn, tenant_id, api_role_name(tenant_id), password=None, kind="api")
                role = _set_api_role(cur, tenant_id)
            if role is None:
                raise TenantRoleError(f"no API role could be set for tenant {tenant_id!r}")
            yield cur
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()
    finally:
        conn.autocommit = autocommit


def api_role_choice(tenant: str) -> str:
    """SQL of the API role of the tenant given by the SQL expression ``tenant`` (one column ``role_name``; no row
    when it has none): the first mapped API role that exists and that the session may SET."""
    return f"""
            select mapping.role_name
            from security.tenant_roles as mapping
            where mapping.tenant_id = {tenant} and mapping.kind = 'api'
                and exists (select from pg_roles where rolname = mapping.role_name)
                and pg_has_role(session_user, mapping.role_name, 'set')
            order by mapping.created_at, mapping.role_name
            limit 1"""


def _set_api_role(cur: Any, tenant_id: str) -> str | None:
    """SET LOCAL ROLE to the tenant's API role in one round trip; the role, or None when it has none."""
    cur.execute(
        f"select chosen.role_name, set_config('role', chosen.role_name, true) from ({api_role_choice('%s')}) as chosen",
        (tenant_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    if row[1] != row[0]:
        raise TenantRoleError(f"could not switch to role {row[0]!r} for tenant {tenant_id!r}")
    return row[0]
