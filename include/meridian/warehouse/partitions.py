"""Monthly range partitions of the raw event tables on ``occurred_at``.

``raw.app__events`` and ``raw.app__event_files`` are partitioned by UTC calendar
month of ``occurred_at``: one partition per month (``<table>_pYYYY_MM``) and a
default partition (``<table>_default``) that catches whatever no month
partition takes: a null or unparseable ``occurred_at``, or a month whose
partition does not exist yet. A COPY into the table therefore never fails for a
missing partition.

A month partition is created with :func:`ensure_month_partition`, which first
moves that month's rows out of the default partition (PostgreSQL refuses to
attach a partition while the default one holds rows of its range). The
retention job (meridian.warehouse.retention) splits the default partition into
month partitions and creates the months ahead of the as-of; the purge drops
whole month partitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg2.extensions
from psycopg2 import sql

# the raw tables partitioned by month of occurred_at
PARTITIONED_TABLES = ("app__events", "app__event_files")

_PARTITION_NAME = re.compile(r"^(?P<table>.+)_p(?P<year>\d{4})_(?P<month>\d{2})$")


@dataclass(frozen=True)
class Month:
    """A UTC calendar month: the partition key range [start, next.start)."""

    year: int
    month: int

    @classmethod
    def of(cls, value: date | datetime) -> Month:
        if isinstance(value, datetime):
            value = value.astimezone(UTC) if value.tzinfo else value
        return cls(value.year, value.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def end(self) -> datetime:
        return self.next.start

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def partition_name(self, table: str) -> str:
        return f"{table}_p{self.year:04d}_{self.month:02d}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def default_partition(table: str) -> str:
    return f"{table}_default"


def months_before(instant: datetime, months: int) -> datetime:
    """``instant`` minus whole calendar months (the day is clamped to the target month's length)."""
    target = Month.of(instant).plus(-months)
    last_day = (target.end - timedelta(days=1)).day
    instant = instant.astimezone(UTC)
    return instant.replace(year=target.year, month=target.month, day=min(instant.day, last_day))


def is_partitioned(cur: psycopg2.extensions.cursor, table: str) -> bool | None:
    """True for a partitioned raw table, False for a plain one, None when it does not exist."""
    cur.execute(
        "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'raw' and c.relname = %s",
        (table,),
    )
    row = cur.fetchone()
    return None if row is None else row[0] == "p"


def month_partitions(cur: psycopg2.extensions.cursor, table: str) -> dict[Month, str]:
    """The month partitions attached to ``raw.<table>``, by month."""
    cur.execute(
        "select c.relname from pg_inherits i "
        "join pg_class c on c.oid = i.inhrelid "
        "join pg_class p on p.oid = i.inhparent "
        "join pg_namespace n on n.oid = p.relnamespace "
        "where n.nspname = 'raw' and p.relname = %s",
        (table,),
    )
    found: dict[Month, str] = {}
    for (name,) in cur.fetchall():
        match = _PARTITION_NAME.match(name)
        if match and match["table"] == table:
            found[Month(int(match["year"]), int(match["month"]))] = name
    return found


def create_default_partition(cur: psycopg2.extensions.cursor, table: str) -> None:
    cur.execute(
        sql.SQL("create table if not exists raw.{} partition of raw.{} default").format(
            sql.Identifier(default_partition(table)), sql.Identifier(table)
        )
    )


def ensure_month_partition(cur: psycopg2.extensions.cursor, table: str, month: Month) -> int:
    """Create the partition of ``month`` unless it exists; returns the rows moved out of the default partition.

    The default partition is locked for the move, so a concurrent COPY waits for
    it and then lands in the new partition; the bootstrap's advisory lock keeps
    two sessions from creating the same partition. Run inside a transaction.
    """
    cur.execute("select pg_advisory_xact_lock(hashtext('meridian.bootstrap'))")
    if month in month_partitions(cur, table):
        return 0
    name = sql.Identifier(month.partition_name(table))
    parent = sql.Identifier(table)
    default = sql.Identifier(default_partition(table))
    bounds = (month.start, month.end)
    cur.execute(sql.SQL("lock table raw.{} in access exclusive mode").format(default))
    cur.execute(sql.SQL("create table raw.{} (like raw.{} including defaults)").format(name, parent))
    cur.execute(
        sql.SQL(
            "with moved as (delete from raw.{} where occurred_at >= %s and occurred_at < %s returning *) "
            "insert into raw.{} select * from moved"
        ).format(default, name),
        bounds,
    )
    moved = cur.rowcount
    # the check constraint lets the attach skip its own scan of the new partition
    cur.execute(
        sql.SQL(
            "alter table raw.{} add constraint {} check (occurred_at is not null and occurred_at >= {} and occurred_at < {})"
        ).format(
            name,
            sql.Identifier(f"{month.partition_name(table)}__range"),
            sql.Literal(month.start.isoformat()),
            sql.Literal(month.end.isoformat()),
        )
    )
    cur.execute(
        sql.SQL("alter table raw.{} attach partition raw.{} for values from ({}) to ({})").format(
            parent, name, sql.Literal(month.start.isoformat()), sql.Literal(month.end.isoformat())
        )
    )
    cur.execute(
        sql.SQL("alter table raw.{} drop constraint {}").format(
            name, sql.Identifier(f"{month.partition_name(table)}__range")
        )
    )
    return moved


# the months of the rows of a relation with an occurred_at in years 1 to 9999 (an infinite or BC
# occurred_at has no month partition: such rows stay in the default partition)
_MONTHS_SQL = (
    "select distinct cast(extract(year from occurred_at at time zone 'UTC') as integer), "
    "cast(extract(month from occurred_at at time zone 'UTC') as integer) from {} "
    "where occurred_at >= '0001-01-01 00:00:00+00' and occurred_at < '10000-01-01 00:00:00+00' order by 1, 2"
)


def _months(cur: psycopg2.extensions.cursor, relation: sql.Composable) -> list[Month]:
    cur.execute(sql.SQL(_MONTHS_SQL).format(relation))
    return [Month(year, month) for year, month in cur.fetchall()]


def default_partition_months(cur: psycopg2.extensions.cursor, table: str) -> list[Month]:
    """The months of the rows in the default partition that have an occurred_at."""
    return _months(cur, sql.SQL("raw.{}").format(sql.Identifier(default_partition(table))))


def create_partitioned_table(cur: psycopg2.extensions.cursor, table: str, columns_ddl: str) -> None:
    """``raw.<table>`` partitioned by range of occurred_at, with its default partition (if not exists)."""
    cur.execute(
        sql.SQL("create table if not exists raw.{} (\n    {}\n) partition by range (occurred_at)").format(
            sql.Identifier(table), sql.SQL(columns_ddl)
        )
    )
    create_default_partition(cur, table)


def migrate_to_partitioned(
    cur: psycopg2.extensions.cursor, table: str, columns_ddl: str, select_columns: str
) -> int | None:
    """Turn a plain ``raw.<table>`` into the partitioned one, once; returns the rows moved (None: nothing to do).

    The plain table is renamed aside, the partitioned table created with a
    partition per month present, every row copied (``select_columns`` gives the
    new column list from the old table: event-file lines get their occurred_at
    here) and the old table dropped, all in the caller's transaction.
    """
    if is_partitioned(cur, table) is not False:
        return None
    legacy = f"{table}__unpartitioned"
    cur.execute(sql.SQL("alter table raw.{} rename to {}").format(sql.Identifier(table), sql.Identifier(legacy)))
    # index names are per schema: move the old table's out of the way
    cur.execute(
        "select indexrelid::regclass::text from pg_index i join pg_class c on c.oid = i.indrelid "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'raw' and c.relname = %s",
        (legacy,),
    )
    for (index,) in cur.fetchall():
        cur.execute(sql.SQL("drop index {}").format(sql.SQL(index)))
    create_partitioned_table(cur, table, columns_ddl)
    legacy_rows = sql.SQL("(select {} from raw.{}) as legacy_rows").format(
        sql.SQL(select_columns), sql.Identifier(legacy))
    for month in _months(cur, legacy_rows):
        ensure_month_partition(cur, table, month)
    cur.execute(
        sql.SQL("insert into raw.{} select {} from raw.{}").format(
            sql.Identifier(table), sql.SQL(select_columns), sql.Identifier(legacy)
        )
    )
    moved = cur.rowcount
    cur.execute(sql.SQL("drop table raw.{}").format(sql.Identifier(legacy)))
    return moved
