"""Schema ``security``: the role → tenant mapping and the functions behind row-level security on the marts.

Created by the warehouse bootstrap (idempotent). The objects:

- ``security.tenant_roles``: one row per tenant role (a BI login or an API role) and its tenant.
- ``meridian_tenant_reader``: the NOLOGIN group role every tenant role is a member of; it holds
  USAGE on schema marts, SELECT on every mart and EXECUTE on ``security.current_tenant_id()``.
- ``security.current_tenant_id()``: the tenant mapped to the current role, null when none.
  Security definer (tenant roles cannot read the mapping), so inside it ``current_user`` is the
  function's owner: the caller's role is read from the ``role`` setting (what ``SET ROLE`` set)
  or else ``session_user`` — together exactly the caller's ``current_user``.
- ``security.secure_mart(regclass)``: row-level security enabled and forced on one mart, its two
  policies and the reader's SELECT grant; changes only what is missing (true when it changed
  anything), so a run over secured marts takes no table lock. The policies:
  ``tenant_isolation`` (SELECT, every role: ``tenant_id = security.current_tenant_id()``) and
  ``pipeline_owner`` (every command, the table's owner: all rows), because FORCE subjects the
  owner, which dbt builds and reads the marts as, to the policies too.
- ``security.grant_reader_access()``: the reader's USAGE on schema marts and EXECUTE on the function.
- ``security.apply_row_security()``: both of the above, over every relation in schema marts; returns
  the marts it changed. dbt calls ``secure_mart`` after every mart it builds (inside the build's
  transaction, so a rebuilt table is never visible without its policies) and
  ``apply_row_security`` at the end of every invocation (dbt_project/macros, dbt_project.yml).

Policies call the function as ``(select security.current_tenant_id())``: the same condition,
evaluated once per query (an InitPlan) instead of once per row.
"""

from __future__ import annotations

from typing import NamedTuple

import psycopg2.extensions

TENANT_READER = "meridian_tenant_reader"

TABLES_DDL = """
create schema if not exists security;
revoke all on schema security from public;
create table if not exists security.tenant_roles (
    role_name text primary key,
    tenant_id text not null,
    kind text not null check (kind in ('bi', 'api')),
    created_at timestamptz not null default now()
);
create index if not exists tenant_roles__tenant on security.tenant_roles (tenant_id, kind);
"""

# roles are cluster-wide: another database's bootstrap may create it at the same moment
READER_ROLE_DDL = f"""
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = '{TENANT_READER}') then
        create role {TENANT_READER} nologin;
    end if;
exception
    when insufficient_privilege then
        raise warning 'role {TENANT_READER} does not exist and % may not create it (no CREATEROLE): '
            'tenant roles (meridian bi grant) cannot work until a superuser creates it', current_user;
    when duplicate_object or unique_violation then
        null;
end
$$
"""


class Function(NamedTuple):
    """A function of schema security: created when missing or when its stored body differs."""

    signature: str  # for to_regprocedure and grants: argument types only
    declaration: str  # name and arguments with their names
    attributes: str
    body: str


FUNCTIONS = (
    Function(
        "security.current_tenant_id()",
        "security.current_tenant_id()",
        "returns text language sql stable security definer parallel restricted "
        "set search_path = pg_catalog, pg_temp",
        """
    select tenant_roles.tenant_id
    from security.tenant_roles
    where tenant_roles.role_name = coalesce(nullif(current_setting('role'), 'none'), session_user)
""",
    ),
    Function(
        "security.grant_reader_access()",
        "security.grant_reader_access()",
        "returns void language plpgsql set search_path = pg_catalog, pg_temp",
        f"""
begin
    if not exists (select from pg_roles where rolname = '{TENANT_READER}') then
        return;
    end if;
    if not has_function_privilege('{TENANT_READER}', 'security.current_tenant_id()', 'execute') then
        grant execute on function security.current_tenant_id() to {TENANT_READER};
    end if;
    if to_regnamespace('marts') is not null and not has_schema_privilege('{TENANT_READER}', 'marts', 'usage') then
        grant usage on schema marts to {TENANT_READER};
    end if;
end
""",
    ),
    Function(
        "security.secure_mart(regclass)",
        "security.secure_mart(mart regclass)",
        "returns boolean language plpgsql set search_path = pg_catalog, pg_temp",
        f"""
declare
    info record;
    changed boolean := false;
begin
    select
        namespace.nspname as schema_name,
        class.relname as table_name,
        class.relkind,
        class.relrowsecurity,
        class.relforcerowsecurity,
        class.relowner,
        exists (
            select from pg_attribute as attribute
            where attribute.attrelid = class.oid and attribute.attname = 'tenant_id'
                and attribute.attnum > 0 and not attribute.attisdropped
        ) as has_tenant_id
    into info
    from pg_class as class
    inner join pg_namespace as namespace on namespace.oid = class.relnamespace
    where class.oid = mart;
    if info.schema_name is distinct from 'marts' then
        return false;
    end if;
    if info.relkind not in ('r', 'p') then
        raise warning 'marts.% is not a table (relkind %): row-level security cannot apply to it, '
            'so tenant roles get no access to it', info.table_name, info.relkind;
        return false;
    end if;
    if not info.has_tenant_id then
        raise warning 'marts.% has no tenant_id column: tenant roles get no access to it', info.table_name;
        return false;
    end if;
    if not info.relrowsecurity then
        execute format('alter table %s enable row level security', mart);
        changed := true;
    end if;
    if not info.relforcerowsecurity then
        execute format('alter table %s force row level security', mart);
        changed := true;
    end if;
    if not exists (select from pg_policy where polrelid = mart and polname = 'tenant_isolation') then
        execute format(
            'create policy tenant_isolation on %s as permissive for select to public '
            'using (tenant_id = (select security.current_tenant_id()))', mart);
        changed := true;
    end if;
    if not exists (
        select from pg_policy
        where polrelid = mart and polname = 'pipeline_owner' and polcmd = '*' and polroles = array[info.relowner]
    ) then
        execute format('drop policy if exists pipeline_owner on %s', mart);
        execute format(
            'create policy pipeline_owner on %s as permissive for all to %s using (true) with check (true)',
            mart, info.relowner::regrole);
        changed := true;
    end if;
    if exists (select from pg_roles where rolname = '{TENANT_READER}')
        and not has_table_privilege('{TENANT_READER}', mart, 'select') then
        execute format('grant select on %s to {TENANT_READER}', mart);
        changed := true;
    end if;
    return changed;
end
""",
    ),
    Function(
        "security.apply_row_security()",
        "security.apply_row_security()",
        "returns setof text language plpgsql set search_path = pg_catalog, pg_temp",
        """
declare
    mart record;
begin
    perform security.grant_reader_access();
    if to_regnamespace('marts') is null then
        return;
    end if;
    for mart in
        select class.oid::regclass as relation, class.relname
        from pg_class as class
        inner join pg_namespace as namespace on namespace.oid = class.relnamespace
        where namespace.nspname = 'marts' and class.relkind in ('r', 'p', 'v', 'm', 'f')
        order by class.relname
    loop
        if security.secure_mart(mart.relation) then
            return next mart.relname::text;
        end if;
    end loop;
end
""",
    ),
)


def ensure_security(conn: psycopg2.extensions.connection) -> None:
    """Create schema security, the mapping table, the reader group role and the functions (idempotent).

    A function is (re)created only when missing or changed, so a bootstrap by another role than the
    functions' owner does not fail on ``create or replace``.
    """
    with conn.cursor() as cur:
        cur.execute(TABLES_DDL)
        cur.execute(READER_ROLE_DDL)
        for function in FUNCTIONS:
            cur.execute("select prosrc from pg_proc where oid = to_regprocedure(%s)", (function.signature,))
            row = cur.fetchone()
            if row is not None and row[0] == function.body:
                continue
            cur.execute(f"create or replace function {function.declaration} {function.attributes} "
                        f"as $body${function.body}$body$")
            cur.execute(f"revoke all on function {function.signature} from public")
        cur.execute("select security.grant_reader_access()")
