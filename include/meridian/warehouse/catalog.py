"""The warehouse's tables as the catalog describes them, for code that must handle every schema generically.

Deletion on request (:mod:`meridian.warehouse.deletion`) finds a tenant's or a
user's rows by column names, in whatever schema they live (raw, history,
staging, marts, audit, reporting, security, and schemas added later), so it
reads the tables from ``pg_catalog`` rather than from a list.

A table here is an ordinary or partitioned table that is not a partition or
an inheritance child (a statement on the parent reaches those), outside the
system schemas. Views are left out: they show what their tables hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2.extensions
from psycopg2 import sql

TEXT_TYPES = ("text", "character varying")


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, type as format_type prints it), in column order

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def column_type(self, column: str) -> str | None:
        return dict(self.columns).get(column)

    def has(self, column: str, *types: str) -> bool:
        """Whether the table has ``column`` (of one of ``types``, when given; a length suffix is ignored)."""
        found = self.column_type(column)
        if found is None:
            return False
        return not types or found.split("(")[0] in types


@dataclass(frozen=True)
class ForeignKey:
    child: str  # Table.key
    child_columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


_SYSTEM_SCHEMAS = "n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'"


def _relations(conn: psycopg2.extensions.connection, kinds: str) -> list[Table]:
    """The user relations whose pg_class.relkind satisfies ``kinds`` (SQL over ``c``), with their columns."""
    with conn.cursor() as cur:
        cur.execute(
            f"""
            select n.nspname, c.relname,
                   array_agg(a.attname::text order by a.attnum),
                   array_agg(format_type(a.atttypid, a.atttypmod) order by a.attnum)
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where {kinds} and {_SYSTEM_SCHEMAS}
            group by n.nspname, c.relname
            order by n.nspname, c.relname
            """
        )
        return [
            Table(schema, name, tuple(zip(columns, types, strict=True)))
            for schema, name, columns, types in cur.fetchall()
        ]


def warehouse_tables(conn: psycopg2.extensions.connection) -> list[Table]:
    """Every user table of the database, by schema and name (a partitioned table once, not its partitions)."""
    return _relations(
        conn, "c.relkind in ('r', 'p') and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid)"
    )


def materialized_views(conn: psycopg2.extensions.connection) -> list[Table]:
    """Every materialized view of the database (they hold rows until refreshed)."""
    return _relations(conn, "c.relkind = 'm'")


def foreign_keys(conn: psycopg2.extensions.connection) -> list[ForeignKey]:
    """Every foreign key between user tables (child columns → parent columns)."""
    with conn.cursor() as cur:
        cur.execute(
            f"""
            select cn.nspname || '.' || cc.relname,
                   array(select attname::text from unnest(k.conkey) with ordinality as u(attnum, ord)
                         join pg_attribute on attrelid = k.conrelid and pg_attribute.attnum = u.attnum
                         order by u.ord),
                   pn.nspname || '.' || pc.relname,
                   array(select attname::text from unnest(k.confkey) with ordinality as u(attnum, ord)
                         join pg_attribute on attrelid = k.confrelid and pg_attribute.attnum = u.attnum
                         order by u.ord)
            from pg_constraint k
            join pg_class cc on cc.oid = k.conrelid
            join pg_namespace cn on cn.oid = cc.relnamespace
            join pg_class pc on pc.oid = k.confrelid
            join pg_namespace pn on pn.oid = pc.relnamespace
            join pg_namespace n on n.oid = cc.relnamespace
            where k.contype = 'f' and k.conparentid = 0 and {_SYSTEM_SCHEMAS}
            order by 1, 3
            """
        )
        return [ForeignKey(child, tuple(ccols), parent, tuple(pcols)) for child, ccols, parent, pcols in cur.fetchall()]
