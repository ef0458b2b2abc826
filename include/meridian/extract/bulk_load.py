"""A first load into an empty raw table: indexes dropped before the COPY and built after it in one pass.

Split from :mod:`meridian.extract.tables`, which decides what to read and calls :func:`prepare_bulk_load`
in the load's transaction when the raw table is empty (a first build, or after a reset).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2.extensions


@dataclass(frozen=True)
class BulkLoad:
    """How a first load into an empty raw table goes: the indexes to build after the COPY, and the relation the
    COPY writes to (the table itself, or its one partition)."""

    indexes: list[str]
    target: str


def prepare_bulk_load(cur: psycopg2.extensions.cursor, relation: str) -> BulkLoad | None:
    """When ``relation`` (a raw table) is empty: clear the way for a bulk load; None when it holds rows.

    In the load's transaction: an exclusive lock (taken only once the table
    looks empty, and the emptiness checked again under it, so no concurrent
    load's rows can be lost), its indexes dropped and the table truncated.
    The COPY then writes rows without maintaining an index row by row, and an
    index built over the loaded rows in one pass costs a fraction of that.
    Truncating the empty table gives it new files, which PostgreSQL need not
    WAL-log with ``wal_level=minimal``. Everything is undone if the load
    fails. None: the table holds rows, it is loaded as it is.

    A partitioned table whose only partition is its default one (a first build: the month partitions come
    later, from warehouse_maintenance) is loaded straight into that partition: every row would be routed
    there, and the COPY skips the routing of each row. The lock on the partitioned table keeps any other
    partition from being created meanwhile.
    """
    cur.execute(f"select exists (select from {relation})")
    if cur.fetchone()[0]:
        return None
    cur.execute(f"lock table {relation} in access exclusive mode")
    cur.execute(f"select exists (select from {relation})")  # rows committed while we waited for the lock
    if cur.fetchone()[0]:
        return None
    cur.execute(
        """
        select index_.indexrelid::regclass::text, pg_get_indexdef(index_.indexrelid)
        from pg_index as index_
        where index_.indrelid = %s::regclass
          and not exists (select from pg_constraint as constraint_ where constraint_.conindid = index_.indexrelid)
        order by 1
        """,
        (relation,),
    )
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(f"drop index {name}")
    cur.execute(f"truncate {relation}")
    # a partitioned table's index prints as "on only": built again on the whole table, it covers every partition
    return BulkLoad([definition.replace(" ON ONLY ", " ON ", 1) for _, definition in indexes],
                    only_default_partition(cur, relation) or relation)


def only_default_partition(cur: psycopg2.extensions.cursor, relation: str) -> str | None:
    """The default partition of ``relation`` when it is its only partition; None otherwise (or not partitioned)."""
    cur.execute(
        """
        select partition_.partdefid::regclass::text, count(inherits.inhrelid)
        from pg_partitioned_table as partition_
        left join pg_inherits as inherits on inherits.inhparent = partition_.partrelid
        where partition_.partrelid = %s::regclass
        group by partition_.partdefid
        """,
        (relation,),
    )
    row = cur.fetchone()
    if row is None or row[0] in (None, "-") or row[1] != 1:
        return None
    return row[0]
