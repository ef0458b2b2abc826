"""Deletion on request: a tenant's data with the tenant, a person's identity with the person.

``purge_tenant`` removes every row of one tenant from every schema of the
warehouse database, found by column, not by a list of tables, so schemas
added later (history, security, ...) are covered without a change here:

- every table with a ``tenant_id`` column (an ``*organizations`` table also by
  its ``id``: an organization is its own tenant);
- every table without one that holds landed records as a ``record`` jsonb
  column (``raw.app__event_files``, ``audit.quarantine``): the rows whose
  ``record ->> 'tenant_id'`` is the tenant;
- every row that references a removed row through a foreign key
  (``reporting.report_deliveries`` of the tenant's scheduled reports), children
  first;
- the database roles ``security.tenant_roles`` maps to the tenant alone
  (BI and API roles), when that table exists; a role mapped to another tenant
  too is kept and said so.

``audit.batches`` keeps adding up: each batch that lost raw rows has
``landed`` lowered by exactly that many and its accepted / quarantined /
duplicates counts cleared, so the next run's ``reconcile_batches`` counts them
again. An event-file line that is not a JSON object goes when its text holds
``"tenant_id": "<tenant>"``; one that does not name a tenant stays.

``forget_user`` replaces a user's id by one pseudonym made for the request
(``forgotten_<16 hex digits>``) in every row of the tenant that carries it:
``user_id`` columns, an ``<x>_id`` whose ``<x>_type`` is ``'user'``
(``int_funnel_progress.entity_id``), the ``id`` of ``*users`` tables (whose
``email`` is cleared), any jsonb value that is exactly the id (event
properties, landed records; a landed users record loses its ``email`` too),
and the text of event-file lines that are not JSON objects. Counts stay (every occurrence
becomes the same pseudonym, and no required column is nulled; docs/deletion.md
says why), the id and e-mail are gone from every schema at once.

Both run in the caller's transaction (all or nothing; the caller commits),
write one row to ``audit.deletion_requests`` (who, when, what, rows per
table; a forgotten user is logged by the pseudonym only) and record a pending
full refresh (:mod:`meridian.warehouse.rebuild_requests`): the incremental
staging tables do not re-read rewritten raw rows, and a transform that was
running during the change may have written the old rows again.

Over 400 lines on purpose: purge and forget are one contract
(docs/deletion.md) that share the catalog walk, the tenant condition of a
table, the views that hold a table's rows and the deletion log; split apart,
those helpers would cross modules as private names.
"""

from __future__ import annotations

import getpass
import json
import re
import secrets
import socket
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extras import Json

from meridian.values import shown
from meridian.warehouse.catalog import TEXT_TYPES, ForeignKey, Table, foreign_keys, materialized_views, warehouse_tables
from meridian.warehouse.rebuild_requests import request_full_refresh
from meridian.warehouse.tenants import UnknownTenantError, check_tenant, is_known_tenant, known_tenants

# the deletion log itself and the rebuild requests are never rewritten by a deletion
KEPT_TABLES = frozenset({"audit.deletion_requests", "audit.full_refresh_requests"})
TENANT_ROLES_TABLE = "security.tenant_roles"
# personal columns of a users table, cleared when its user is forgotten
PERSONAL_COLUMNS = ("email",)
PSEUDONYM_PREFIX = "forgotten_"
_USERS_TABLE = re.compile(r"(^|_)users$")


class DeletionError(RuntimeError):
    """A deletion cannot be completed as asked; nothing was changed (the transaction is rolled back)."""


class UnknownUserError(LookupError):
    def __init__(self, tenant: str, user: str) -> None:
        self.message = f"unknown user {shown(user)}: no row of tenant {shown(tenant)} carries this user id"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def requester() -> str:
    """Who runs the command: the operating-system user and host (the database user is logged beside it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor the password database
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


# --- tenant purge -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeTarget:
    table: Table
    condition: sql.Composable  # the tenant's rows; parameter %(tenant)s
    rule: str  # how the rows are found, for the docs and the dry run


@dataclass
class PurgeResult:
    tenant: str
    executed: bool
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows removed (or to remove), rows > 0 only
    roles: list[str] = field(default_factory=list)  # dropped (or to drop)
    kept_roles: dict[str, list[str]] = field(default_factory=dict)  # role -> the other tenants it is mapped to
    batches_adjusted: int = 0
    refreshed: list[str] = field(default_factory=list)  # materialized views refreshed
    request_id: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        verb = "removed" if self.executed else "would be removed"
        out = [f"{key}: {rows}" for key, rows in sorted(self.counts.items())]
        out.append(f"total: {self.total} rows {verb} for tenant {self.tenant!r}")
        if self.roles:
            out.append(f"roles {'dropped' if self.executed else 'to drop'}: {', '.join(self.roles)}")
        for role, others in sorted(self.kept_roles.items()):
            out.append(f"role kept (also mapped to {', '.join(others)}): {role}")
        if self.batches_adjusted:
            out.append(f"audit.batches: {self.batches_adjusted} batches' landed counts lowered (reconciled next run)")
        if self.refreshed:
            out.append(f"materialized views refreshed: {', '.join(self.refreshed)}")
        return out


def _tenant_condition(table: Table, *, purge: bool) -> tuple[sql.Composable, str] | None:
    """The tenant's rows of ``table`` (parameters ``%(tenant)s``, ``%(tenant_in_line)s``) and the rule, or None.

    For a purge, an ``*organizations`` row is the tenant's by its ``id`` too, and a landed line that is
    not a JSON object (``_line``, or a quarantined record's ``line``) is the tenant's when its text
    holds ``"tenant_id": "<tenant>"``.
    """
    if table.has("tenant_id"):
        column = sql.Identifier("tenant_id")
        value = column if table.has("tenant_id", *TEXT_TYPES) else sql.SQL("{}::text").format(column)
        condition: sql.Composable = sql.SQL("{} = %(tenant)s").format(value)
        rule = "tenant_id"
        if purge and table.name.endswith("organizations") and table.has("id"):
            condition = sql.SQL("({} or {}::text = %(tenant)s)").format(condition, sql.Identifier("id"))
            rule = "tenant_id or id"
        return condition, rule
    if table.has("record", "jsonb"):
        condition = sql.SQL("record ->> 'tenant_id' = %(tenant)s")
        rule = "record ->> 'tenant_id'"
        if purge:
            condition = sql.SQL("({} or record ->> 'line' ~ %(tenant_in_line)s").format(condition)
            rule += ", or the tenant in the text of a line that is no JSON object"
            if table.has("_line", *TEXT_TYPES):
                condition = sql.SQL("{} or _line ~ %(tenant_in_line)s").format(condition)
            condition = sql.SQL("{})").format(condition)
        return condition, rule
    return None


def tenant_in_line(tenant: str) -> str:
    """A regular expression for ``"tenant_id": "<tenant>"`` in the text of a line (any spacing)."""
    return r'"tenant_id"\s*:\s*' + re.escape(json.dumps(tenant, ensure_ascii=False))


def purge_targets(conn: psycopg2.extensions.connection) -> list[PurgeTarget]:
    """Every table holding rows of a tenant, in an order that deletes referencing rows first."""
    tables = {table.key: table for table in warehouse_tables(conn) if table.key not in KEPT_TABLES}
    direct: dict[str, tuple[sql.Composable, str]] = {}
    for key, table in tables.items():
        found = _tenant_condition(table, purge=True)
        if found:
            direct[key] = found
    keys = foreign_keys(conn)
    # tables without a tenant column whose rows reference the tenant's rows, to a fixed point
    referencing: dict[str, list[ForeignKey]] = {}
    changed = True
    while changed:
        changed = False
        for fk in keys:
            if fk.child in tables and fk.child not in direct and fk.parent != fk.child and (
                fk.parent in direct or fk.parent in referencing
            ):
                found = referencing.setdefault(fk.child, [])
                if fk not in found:
                    found.append(fk)
                    changed = True

    conditions: dict[str, tuple[sql.Composable, str]] = dict(direct)

    def condition_of(key: str, visiting: frozenset[str]) -> sql.Composable:
        if key in conditions:
            return conditions[key][0]
        if key in visiting:
            raise DeletionError(f"foreign keys form a cycle through {key}; cannot tell which rows are the tenant's")
        parts = []
        for fk in referencing[key]:
            parent = tables[fk.parent]
            parts.append(
                sql.SQL("({}) in (select {} from {} where {})").format(
                    sql.SQL(", ").join(map(sql.Identifier, fk.child_columns)),
                    sql.SQL(", ").join(map(sql.Identifier, fk.parent_columns)),
                    parent.ident,
                    condition_of(fk.parent, visiting | {key}),
                )
            )
        rule = "references " + ", ".join(fk.parent for fk in referencing[key])
        conditions[key] = (sql.SQL(" or ").join(parts), rule)
        return conditions[key][0]

    for key in referencing:
        condition_of(key, frozenset())

    order: TopologicalSorter[str] = TopologicalSorter()
    for key in sorted(conditions):
        order.add(key)
    for fk in keys:
        if fk.child in conditions and fk.parent in conditions and fk.child != fk.parent:
            order.add(fk.parent, fk.child)  # the parent's rows go after the rows that reference them
    try:
        ordered = list(order.static_order())
    except CycleError as exc:
        raise DeletionError(f"foreign keys form a cycle between {', '.join(exc.args[1])}; delete by hand") from None
    return [PurgeTarget(tables[key], *conditions[key]) for key in ordered]


def _mapped_roles(conn: psycopg2.extensions.connection, tenant: str) -> tuple[list[str], dict[str, list[str]]]:
    """The existing roles mapped to ``tenant`` alone, and those mapped to other tenants too."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select count(*) = 2 from information_schema.columns
            where table_schema = 'security' and table_name = 'tenant_roles' and column_name in ('role_name', 'tenant_id')
            """
        )
        if not cur.fetchone()[0]:
            return [], {}
        cur.execute(
            f"""
            select mapped.role_name,
                   coalesce(array_agg(distinct other.tenant_id::text) filter (where other.tenant_id is not null), '{{}}')
            from (select distinct role_name::text as role_name from {TENANT_ROLES_TABLE} where tenant_id::text = %s)
                 as mapped
            left join {TENANT_ROLES_TABLE} as other
                on other.role_name::text = mapped.role_name and other.tenant_id::text <> %s
            where exists (select 1 from pg_roles where rolname = mapped.role_name)
            group by mapped.role_name
            order by mapped.role_name
            """,
            (tenant, tenant),
        )
        rows = cur.fetchall()
    alone = [role for role, others in rows if not others]
    shared = {role: sorted(others) for role, others in rows if others}
    return alone, shared


def _drop_role(cur: psycopg2.extensions.cursor, role: str) -> None:
    """Revoke the role's privileges in this database and drop it; refuses roles that own objects."""
    cur.execute(
        "select oid, rolsuper, rolname in (current_user, session_user) from pg_roles where rolname = %s", (role,)
    )
    oid, is_superuser, is_self = cur.fetchone()
    if is_self or is_superuser:
        raise DeletionError(
            f"role {role!r} ({TENANT_ROLES_TABLE}) is {'the role running the purge' if is_self else 'a superuser'}; "
            f"remove its mapping or drop it by hand, then purge again"
        )
    cur.execute(
        """
        select pg_describe_object(classid, objid, objsubid) from pg_shdepend
        where refobjid = %s and deptype = 'o' and classid <> 'pg_default_acl'::regclass
          and dbid = (select oid from pg_database where datname = current_database())
        order by 1
        """,
        (oid,),
    )
    owned = [row[0] for row in cur.fetchall()]
    if owned:
        raise DeletionError(
            f"role {role!r} ({TENANT_ROLES_TABLE}) owns {len(owned)} object(s): {', '.join(owned[:5])}; "
            f"reassign them (REASSIGN OWNED BY {role} TO ...) or drop them, then purge again"
        )
    try:
        cur.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))  # privileges and policy entries
        cur.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
    except psycopg2.Error as exc:
        detail = (exc.pgerror or str(exc)).strip().replace("\n", " ")
        raise DeletionError(f"cannot drop role {role!r} ({TENANT_ROLES_TABLE}): {detail}") from None


def _views_holding(
    conn: psycopg2.extensions.connection, column: str, value: str
) -> list[Table]:
    """The materialized views with ``column`` that hold a row with ``value`` in it."""
    found = []
    with conn.cursor() as cur:
        for view in materialized_views(conn):
            if view.has(column):
                cur.execute(
                    sql.SQL("select exists (select 1 from {} where {}::text = %s)").format(
                        view.ident, sql.Identifier(column)
                    ),
                    (value,),
                )
                if cur.fetchone()[0]:
                    found.append(view)
    return found


def _log(
    conn: psycopg2.extensions.connection,
    *,
    action: str,
    tenant: str,
    pseudonym: str | None,
    requested_by: str,
    counts: dict[str, int],
    roles: list[str],
) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """
            insert into audit.deletion_requests
                (action, tenant_id, pseudonym, requested_by, rows_changed, counts, roles_dropped)
            values (%s, %s, %s, %s, %s, %s, %s)
            returning request_id
            """,
            (action, tenant, pseudonym, requested_by, sum(counts.values()), Json(counts), roles),
        )
        return cur.fetchone()[0]


def purge_tenant(
    conn: psycopg2.extensions.connection, tenant: str, *, execute: bool, requested_by: str | None = None
) -> PurgeResult:
    """Remove (``execute``) or count every row of ``tenant``; raises :class:`UnknownTenantError` when none exists.

    A tenant is unknown when it is not an organization of the warehouse
    (:mod:`meridian.warehouse.tenants`) and no row anywhere carries it.
    Runs in the caller's transaction; the caller commits (or rolls back a
    count-only run, which writes nothing).
    """
    tenant = (tenant or "").strip()
    if not tenant:
        raise UnknownTenantError(tenant, known_tenants(conn))
    params = {"tenant": tenant, "tenant_in_line": tenant_in_line(tenant)}
    result = PurgeResult(tenant=tenant, executed=execute)
    result.roles, result.kept_roles = _mapped_roles(conn, tenant)
    batches: dict[int, int] = {}
    with conn.cursor() as cur:
        if not execute:
            for target in purge_targets(conn):
                cur.execute(
                    sql.SQL("select count(*) from {} where {}").format(target.table.ident, target.condition), params
                )
                rows = cur.fetchone()[0]
                if rows:
                    result.counts[target.table.key] = rows
            if not result.counts and not result.roles and not is_known_tenant(conn, tenant):
                raise UnknownTenantError(tenant, known_tenants(conn))
            return result
        known = is_known_tenant(conn, tenant)
        for target in purge_targets(conn):
            delete = sql.SQL("delete from {} where {}").format(target.table.ident, target.condition)
            if target.table.schema == "raw" and target.table.has("_batch_id"):
                cur.execute(
                    sql.SQL("with removed as ({} returning _batch_id) select _batch_id, count(*) from removed "
                            "group by _batch_id").format(delete),
                    params,
                )
                per_batch = cur.fetchall()
                for batch_id, rows in per_batch:
                    if batch_id is not None:
                        batches[batch_id] = batches.get(batch_id, 0) + rows
                rows = sum(rows for _, rows in per_batch)
            else:
                cur.execute(delete, params)
                rows = cur.rowcount
            if rows:
                result.counts[target.table.key] = rows
        if not result.counts and not result.roles and not known:
            raise UnknownTenantError(tenant, known_tenants(conn))
        for role in result.roles:
            _drop_role(cur, role)
        if batches:
            cur.execute(
                """
                update audit.batches as batches
                set landed = batches.landed - removed.rows,
                    accepted = null, quarantined = null, duplicates = null, reconciled_at = null
                from unnest(%s::bigint[], %s::bigint[]) as removed (batch_id, rows)
                where batches.batch_id = removed.batch_id
                """,
                (list(batches), list(batches.values())),
            )
            result.batches_adjusted = cur.rowcount
        for view in _views_holding(conn, "tenant_id", tenant):
            cur.execute(sql.SQL("refresh materialized view {}").format(view.ident))
            result.refreshed.append(view.key)
    result.request_id = _log(
        conn, action="tenant_purge", tenant=tenant, pseudonym=None, requested_by=requested_by or requester(),
        counts=result.counts, roles=result.roles,
    )
    request_full_refresh(conn, f"tenant {tenant!r} purged (deletion request {result.request_id})")
    return result


# --- user forget ------------------------------------------------------------------------------------


@dataclass
class ForgetResult:
    tenant: str
    pseudonym: str
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows rewritten, rows > 0 only
    skipped: list[str] = field(default_factory=list)  # user columns that could not be rewritten, and why
    refreshed: list[str] = field(default_factory=list)
    request_id: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        out = [f"{key}: {rows}" for key, rows in sorted(self.counts.items())]
        out.append(f"total: {self.total} rows of tenant {self.tenant!r} now carry {self.pseudonym}")
        if self.refreshed:
            out.append(f"materialized views refreshed: {', '.join(self.refreshed)}")
        out.extend(f"not changed: {item}" for item in self.skipped)
        return out


def new_pseudonym() -> str:
    return f"{PSEUDONYM_PREFIX}{secrets.token_hex(8)}"


def _holds_pseudonym(column_type: str | None) -> bool:
    """Text, or varchar long enough for a pseudonym."""
    if column_type == "text" or column_type == "character varying":
        return True
    found = re.fullmatch(r"character varying\((\d+)\)", column_type or "")
    return bool(found) and int(found.group(1)) >= len(new_pseudonym())


def _forget_statement(table: Table, skipped: list[str]) -> sql.Composable | None:
    """The update that rewrites one table's rows naming the user (parameters: tenant, user, pseudonym and
    their JSON forms), or None when the table cannot hold the user.

    The rows looked at are the tenant's and those that name no tenant (a row landed without a tenant, a
    line that is no JSON object): ids are unique across tenants at the source, so there the id is the
    same person's. Another tenant's row is never changed.
    """
    found = _tenant_condition(table, purge=False)
    if found is None:
        if table.has("user_id"):
            skipped.append(f"{table.key}.user_id (no tenant_id or record to tell the tenant's rows)")
        return None
    tenant_column = sql.SQL("tenant_id") if table.has("tenant_id") else sql.SQL("record ->> 'tenant_id'")
    rows = sql.SQL("({} or {} is null)").format(found[0], tenant_column)
    sets: list[sql.Composable] = []
    matches: list[sql.Composable] = []

    def rewrite(column: str, match: sql.Composable, value: sql.Composable) -> None:
        ident = sql.Identifier(column)
        matches.append(match)
        sets.append(sql.SQL("{} = case when {} then {} else {} end").format(ident, match, value, ident))

    def in_text(text: sql.Composable) -> sql.Composable:
        """The id as a JSON string, plain or escaped inside another string (a quarantined line's text)."""
        return sql.SQL("(strpos({0}, %(json_user)s) > 0 or strpos({0}, %(escaped_user)s) > 0)").format(text)

    def replaced(text: sql.Composable) -> sql.Composable:
        return sql.SQL(
            "replace(replace({}, %(json_user)s, %(json_pseudonym)s), %(escaped_user)s, %(escaped_pseudonym)s)"
        ).format(text)

    users_table = bool(_USERS_TABLE.search(table.name)) and (table.has("id") or table.has("user_id"))
    # (column, the condition that says it holds a user id there)
    user_columns: list[tuple[str, sql.Composable]] = [("user_id", sql.SQL("true"))]
    if users_table:
        user_columns.append(("id", sql.SQL("true")))
    for column, _ in table.columns:
        # an <x>_id whose <x>_type says what it is (int_funnel_progress: entity_id of a 'user' or a 'lead')
        # (user ids are text: a numeric <x>_id, audit.data_quality_alerts.alert_id, is something else)
        kind = column[: -len("_id")] + "_type" if column.endswith("_id") else None
        if kind and table.has(kind) and column != "user_id" and _holds_pseudonym(table.column_type(column)):
            user_columns.append((column, sql.SQL("{} = 'user'").format(sql.Identifier(kind))))
    rewritten = []
    for column, holds_user in user_columns:
        if not table.has(column):
            continue
        if not _holds_pseudonym(table.column_type(column)):
            skipped.append(f"{table.key}.{column} (type {table.column_type(column)} cannot hold a pseudonym)")
            continue
        rewrite(column, sql.SQL("{} = %(user)s and {}").format(sql.Identifier(column), holds_user),
                sql.SQL("%(pseudonym)s"))
        rewritten.append(column)
    if users_table and rewritten:
        key = sql.Identifier("id" if "id" in rewritten else rewritten[0])
        for column in PERSONAL_COLUMNS:
            if table.has(column):
                rewrite(column, sql.SQL("{} = %(user)s").format(key), sql.SQL("null"))
    for column, column_type in table.columns:
        ident = sql.Identifier(column)
        if column_type == "jsonb":
            value: sql.Composable = ident
            if column == "record" and table.has("table_name"):
                # a landed users record (audit.quarantine): its e-mail goes with the id
                value = sql.SQL(
                    "case when table_name ~ '(^|_)users$' and record ->> 'id' = %(user)s and record ? 'email' "
                    "then jsonb_set(record, '{email}', 'null') else record end"
                )
            text = sql.SQL("{}::text").format(ident)
            rewrite(column, in_text(text), sql.SQL("{}::jsonb").format(replaced(sql.SQL("({})::text").format(value))))
        elif column == "_line" and column_type in TEXT_TYPES:
            # the text of an event-file line that is not a JSON object
            rewrite(column, in_text(ident), replaced(ident))
    if not matches:
        return None
    return sql.SQL("update {} set {} where {} and ({})").format(
        table.ident, sql.SQL(", ").join(sets), rows, sql.SQL(" or ").join(matches)
    )


def forget_user(
    conn: psycopg2.extensions.connection,
    tenant: str,
    user: str,
    *,
    requested_by: str | None = None,
    pseudonym: str | None = None,
) -> ForgetResult:
    """Replace ``user``'s id in every row of ``tenant`` by a new pseudonym and clear its e-mail.

    Raises :class:`UnknownTenantError` or :class:`UnknownUserError` (nothing
    changed then). Runs in the caller's transaction; the caller commits.
    """
    tenant = (tenant or "").strip()
    check_tenant(conn, tenant)
    user = (user or "").strip()
    if not user:
        raise UnknownUserError(tenant, user)
    result = ForgetResult(tenant=tenant, pseudonym=pseudonym or new_pseudonym())
    params = {
        "tenant": tenant,
        "user": user,
        "pseudonym": result.pseudonym,
        "json_user": json.dumps(user, ensure_ascii=False),
        "json_pseudonym": json.dumps(result.pseudonym),
        # inside a JSON string (a quarantined line's text), the quotes around the id are escaped
        "escaped_user": json.dumps(json.dumps(user, ensure_ascii=False), ensure_ascii=False)[1:-1],
        "escaped_pseudonym": json.dumps(json.dumps(result.pseudonym))[1:-1],
    }
    with conn.cursor() as cur:
        for table in warehouse_tables(conn):
            if table.key in KEPT_TABLES:
                continue
            statement = _forget_statement(table, result.skipped)
            if statement is None:
                continue
            cur.execute(statement, params)
            if cur.rowcount:
                result.counts[table.key] = cur.rowcount
        if not result.counts:
            raise UnknownUserError(tenant, user)
        for view in _views_holding(conn, "user_id", user):
            cur.execute(sql.SQL("refresh materialized view {}").format(view.ident))
            result.refreshed.append(view.key)
    result.request_id = _log(
        conn, action="user_forget", tenant=tenant, pseudonym=result.pseudonym,
        requested_by=requested_by or requester(), counts=result.counts, roles=[],
    )
    request_full_refresh(
        conn, f"a user of tenant {tenant!r} forgotten as {result.pseudonym} (deletion request {result.request_id})"
    )
    return result
