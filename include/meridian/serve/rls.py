"""Row-level security per tenant on the marts (the shared interface the BI roles and the API use).

A role → tenant mapping (``security.tenant_roles``) read by one policy per mart,
``tenant_isolation``: ``tenant_id = security.current_tenant_id()`` for members of
the group role ``meridian_tenant_reader``; the pipeline's own role (the owner)
keeps every row through a second policy, ``pipeline_owner``, and superusers bypass RLS anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2.extensions
from psycopg2 import sql

READER_GROUP = "meridian_tenant_reader"
POLICY = "tenant_isolation"
OWNER_POLICY = "pipeline_owner"
KINDS = ("bi", "api")

SECURITY_DDL = f"""
create schema if not exists security;
create table if not exists security.tenant_roles (
    role_name text primary key,
    tenant_id text not null,
    kind text not null check (kind in ('bi', 'api')),
    created_at timestamptz not null default now()
);
-- the caller's role is the default argument: evaluated where the function is called, before the
-- security-definer body runs as the owner
create or replace function security.current_tenant_id(role_name text default current_user)
returns text language sql stable security definer set search_path = pg_catalog, security as $$
    select tenant_id from security.tenant_roles where tenant_roles.role_name = $1
$$;
do $$
begin
    if not exists (select 1 from pg_roles where rolname = '{READER_GROUP}') then
        create role {READER_GROUP} nologin;
    end if;
end
$$;
revoke all on function security.current_tenant_id(text) from public;
grant usage on schema security to {READER_GROUP};
grant execute on function security.current_tenant_id(text) to {READER_GROUP};
"""


def ensure_security_schema(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('meridian.security'))")
        cur.execute(SECURITY_DDL)


def _tenant_marts(cur: psycopg2.extensions.cursor) -> list[str]:
    cur.execute(
        "select c.table_name from information_schema.columns c join information_schema.tables t "
        "using (table_schema, table_name) where c.table_schema = 'marts' and c.column_name = 'tenant_id' "
        "and t.table_type = 'BASE TABLE' order by 1"
    )
    return [row[0] for row in cur.fetchall()]


def apply_row_security(conn: psycopg2.extensions.connection) -> list[str]:
    """Enable and force RLS with the tenant policy on every mart with a tenant_id; grant the reader group."""
    ensure_security_schema(conn)
    touched = []
    with conn.cursor() as cur:
        cur.execute(sql.SQL("grant usage on schema marts to {}").format(sql.Identifier(READER_GROUP)))
        for table in _tenant_marts(cur):
            name = sql.Identifier("marts", table)
            cur.execute("select tableowner from pg_tables where schemaname = 'marts' and tablename = %s", (table,))
            owner = cur.fetchone()[0]
            cur.execute(sql.SQL("alter table {} enable row level security").format(name))
            cur.execute(sql.SQL("alter table {} force row level security").format(name))
            cur.execute("select 1 from pg_policies where schemaname = 'marts' and tablename = %s and policyname = %s",
                        (table, POLICY))
            if cur.fetchone() is None:
                # (select ...): evaluated once per query, so the tenant_id index serves the filter
                cur.execute(sql.SQL(
                    "create policy {} on {} for select to public using (tenant_id = (select security.current_tenant_id()))"
                ).format(sql.Identifier(POLICY), name))
            cur.execute("select 1 from pg_policies where schemaname = 'marts' and tablename = %s and policyname = %s",
                        (table, OWNER_POLICY))
            if cur.fetchone() is None:  # FORCE applies to the owner: the pipeline's own role keeps every row
                cur.execute(sql.SQL("create policy {} on {} for all to {} using (true) with check (true)").format(
                    sql.Identifier(OWNER_POLICY), name, sql.Identifier(owner)))
            cur.execute(sql.SQL("grant select on {} to {}").format(name, sql.Identifier(READER_GROUP)))
            touched.append(table)
    return touched


def api_role_name(tenant_id: str) -> str:
    return "meridian_api_" + hashlib.sha256(tenant_id.encode()).hexdigest()[:16]


def ensure_tenant_role(conn: psycopg2.extensions.connection, tenant_id: str, role_name: str, *,
                       password: str | None, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    ensure_security_schema(conn)
    role = sql.Identifier(role_name)
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = %s", (role_name,))
        verb = "alter" if cur.fetchone() else "create"
        if password is None:
            cur.execute(sql.SQL(verb + " role {} nologin").format(role))
        else:
            cur.execute(sql.SQL(verb + " role {} login password {}").format(role, sql.Literal(password)))
        cur.execute(sql.SQL("grant {} to {}").format(sql.Identifier(READER_GROUP), role))
        if kind == "api":
            # the connecting role switches to the tenant's role (SET ROLE) for every API query
            cur.execute("select rolsuper from pg_roles where rolname = current_user")
            if not cur.fetchone()[0]:
                cur.execute(sql.SQL("grant {} to current_user").format(role))
        cur.execute(
            "insert into security.tenant_roles (role_name, tenant_id, kind) values (%s, %s, %s) "
            "on conflict (role_name) do update set tenant_id = excluded.tenant_id, kind = excluded.kind",
            (role_name, tenant_id, kind),
        )


def drop_tenant_role(conn: psycopg2.extensions.connection, role_name: str) -> None:
    with conn.cursor() as cur:
        cur.execute("delete from security.tenant_roles where role_name = %s", (role_name,))
        cur.execute("select 1 from pg_roles where rolname = %s", (role_name,))
        if cur.fetchone():
            cur.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role_name)))
            cur.execute(sql.SQL("drop role {}").format(sql.Identifier(role_name)))


def list_tenant_roles(conn: psycopg2.extensions.connection) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute("select role_name, tenant_id, kind, created_at from security.tenant_roles order by 2, 1")
        return [dict(zip(("role_name", "tenant_id", "kind", "created_at"), row, strict=True)) for row in cur]


@contextmanager
def tenant_scope(conn: psycopg2.extensions.connection, tenant_id: str) -> Iterator[psycopg2.extensions.cursor]:
    """Inside the current transaction, run as the tenant's API role: every query sees only its rows."""
    role = api_role_name(tenant_id)
    with conn.cursor() as cur:
        cur.execute("select 1 from security.tenant_roles where role_name = %s and tenant_id = %s", (role, tenant_id))
        if cur.fetchone() is None:
            ensure_tenant_role(conn, tenant_id, role, password=None, kind="api")
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        try:
            yield cur
        finally:
            if not conn.closed and conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS:
                cur.execute("reset role")
