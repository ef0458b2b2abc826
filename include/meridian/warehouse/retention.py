"""Raw retention: raw events older than N calendar months move to the history layer, their partitions go.

What the warehouse_maintenance DAG runs, in order, for an as-of instant T:

1. :func:`partition_raw_events`: every month up to two after T's that has rows
   in a raw event table's default partition gets its own partition (the rows
   move), and the months of T and the two after it are created ahead. Rows
   dated later than that (bad data) stay in the default partition.
2. :func:`purge_raw_events`: the cutoff is T minus ``MERIDIAN_RAW_RETENTION_MONTHS``
   calendar months (default 13). Every month partition that ends at or before
   the cutoff (all its events occurred before it) is purged, one month per
   transaction: the accepted, current version of each of its events, as
   staging holds it (``staging.base_app__events``: the docs/sources.md columns,
   origin, file and line, batch), is kept in ``history.app__events``; the
   batches that lose rows are marked ``audit.batches.purged_at`` (their
   reconciled counts stay); the partition is detached and dropped, and
   ``audit.raw_purges`` records it. Rows with a null or unparseable
   occurred_at live in the default partition and are never purged.

   A month is purged only when staging has classified every one of its raw
   rows and every batch with rows in it has been reconciled; otherwise it is
   left for a later run (after the next transform) and reported as deferred.
3. :func:`vacuum_raw_events`: ``VACUUM (ANALYZE)`` of the raw event tables and
   the history table.

Every step is idempotent: a second run finds nothing to split or purge.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

import psycopg2.extensions
from psycopg2 import sql

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID, settings
from meridian.sources.schema import table as source_table
from meridian.warehouse import partitions
from meridian.warehouse.bootstrap import EVENT_FILES_TABLE, EVENTS_TABLE
from meridian.warehouse.partitions import Month

log = logging.getLogger(__name__)

MONTHS_AHEAD = 2
HISTORY_TABLE = "history.app__events"
# staging's classified events: the one place that knows each raw row's status and the current version of an id
STAGING_EVENTS = "staging.base_app__events"


class RetentionError(RuntimeError):
    pass


@dataclass
class MonthPurge:
    month: str
    rows_purged: dict[str, int]
    events_kept_in_history: int
    batches: list[int]


@dataclass
class PurgeSummary:
    as_of: str
    retention_months: int
    cutoff: str
    purged: list[MonthPurge] = field(default_factory=list)
    deferred: dict[str, str] = field(default_factory=dict)  # month -> why it waits

    def as_dict(self) -> dict:
        return asdict(self)


def cutoff_instant(as_of: datetime, retention_months: int) -> datetime:
    """The instant before which raw events may be purged: ``as_of`` minus whole calendar months."""
    if retention_months < 1:
        raise RetentionError(f"MERIDIAN_RAW_RETENTION_MONTHS must be at least 1, got {retention_months}")
    return partitions.months_before(as_of, retention_months)


def partition_raw_events(as_of: datetime, conn_id: str = WAREHOUSE_CONN_ID) -> dict:
    """Split the default partitions into month partitions and create the months ahead of ``as_of``."""
    ahead = [Month.of(as_of).plus(offset) for offset in range(MONTHS_AHEAD + 1)]
    last = ahead[-1]
    created: dict[str, list[str]] = {}
    moved: dict[str, int] = {}
    left: dict[str, list[str]] = {}
    with db.connection(conn_id) as conn:
        for table in partitions.PARTITIONED_TABLES:
            with conn.cursor() as cur:
                in_default = partitions.default_partition_months(cur, table)
                existing = partitions.month_partitions(cur, table)
            conn.commit()
            # months past the last one ahead stay in the default partition (an occurred_at far in the
            # future is bad data: one partition per such month would only slow every query down)
            later = [month for month in in_default if (month.year, month.month) > (last.year, last.month)]
            wanted = sorted((set(in_default) - set(later)) | set(ahead), key=lambda month: (month.year, month.month))
            left[table] = [str(month) for month in later]
            if later:
                log.warning("raw.%s: rows dated %s stay in the default partition (after %s)",
                            table, ", ".join(left[table][:12]), last)
            created[table] = []
            moved[table] = 0
            for month in wanted:
                if month in existing:
                    continue
                with conn.cursor() as cur:
                    moved[table] += partitions.ensure_month_partition(cur, table, month)
                conn.commit()  # one month at a time: the default partition is locked only briefly
                created[table].append(str(month))
    summary = {"partitions_created": created, "rows_moved_from_default": moved,
               "months_left_in_default": left}
    log.info("raw event partitions: %s", summary)
    return summary


def purge_raw_events(
    as_of: datetime, retention_months: int | None = None, conn_id: str = WAREHOUSE_CONN_ID
) -> PurgeSummary:
    """Keep the purged months' events in history, then detach and drop their raw partitions."""
    months = settings().raw_retention_months if retention_months is None else retention_months
    cutoff = cutoff_instant(as_of, months)
    summary = PurgeSummary(as_of=as_of.isoformat(), retention_months=months, cutoff=cutoff.isoformat())
    with db.connection(conn_id) as conn:
        with conn.cursor() as cur:
            if not _relation_exists(cur, STAGING_EVENTS):
                found = {table: partitions.month_partitions(cur, table) for table in partitions.PARTITIONED_TABLES}
                expired = sorted({m for parts in found.values() for m in parts if m.end <= cutoff},
                                 key=lambda m: (m.year, m.month))
                for month in expired:
                    summary.deferred[str(month)] = f"{STAGING_EVENTS} does not exist yet: run transform_warehouse first"
                _log_summary(summary)
                return summary
            by_table = {table: partitions.month_partitions(cur, table) for table in partitions.PARTITIONED_TABLES}
        conn.commit()
        expired_months = sorted({month for found in by_table.values() for month in found if month.end <= cutoff},
                                key=lambda month: (month.year, month.month))
        for month in expired_months:
            names = {table: found[month] for table, found in by_table.items() if month in found}
            with conn.cursor() as cur:
                outcome = _purge_month(cur, month, names, as_of)
            if isinstance(outcome, str):
                conn.rollback()
                summary.deferred[str(month)] = outcome
                log.warning("raw events of %s are past retention but not purged: %s", month, outcome)
            else:
                conn.commit()
                summary.purged.append(outcome)
                log.info("purged %s: %s raw rows, %s events kept in %s, %s batches marked purged", month,
                         outcome.rows_purged, outcome.events_kept_in_history, HISTORY_TABLE, len(outcome.batches))
    _log_summary(summary)
    return summary


def _log_summary(summary: PurgeSummary) -> None:
    log.info("raw retention at %s (%s months, cutoff %s): %s months purged, %s deferred",
             summary.as_of, summary.retention_months, summary.cutoff, len(summary.purged), len(summary.deferred))


def _relation_exists(cur: psycopg2.extensions.cursor, name: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (name,))
    return bool(cur.fetchone()[0])


def _history_columns() -> list[str]:
    return [name for name, _ in source_table("app", "events").columns]


def _purge_month(
    cur: psycopg2.extensions.cursor, month: Month, names: dict[str, str], as_of: datetime
) -> MonthPurge | str:
    """Purge one month's partitions in the caller's transaction; a string says why the month must wait."""
    # writers wait until the month is gone (a late row of this month then lands in the default partition)
    cur.execute(
        sql.SQL("lock table {} in share mode").format(
            sql.SQL(", ").join(sql.SQL("raw.{}").format(sql.Identifier(t)) for t in partitions.PARTITIONED_TABLES)
        )
    )
    db_part = sql.SQL("raw.{}").format(sql.Identifier(names[EVENTS_TABLE])) if EVENTS_TABLE in names else None
    file_part = (
        sql.SQL("raw.{}").format(sql.Identifier(names[EVENT_FILES_TABLE])) if EVENT_FILES_TABLE in names else None
    )
    staging = sql.SQL(STAGING_EVENTS)
    # every raw row must be classified by staging, or its event could be lost (a db row by batch and id,
    # null ids together; a file line by batch, file and line number)
    checks = []
    if db_part is not None:
        checks.append(sql.SQL(
            "select p._batch_id from {part} as p where not exists (select 1 from {staging} as e "
            "where e.origin = 'db' and e._batch_id = p._batch_id and coalesce(e.id, '') = coalesce(p.id, ''))"
        ).format(part=db_part, staging=staging))
    if file_part is not None:
        checks.append(sql.SQL(
            "select p._batch_id from {part} as p where not exists (select 1 from {staging} as e "
            "where e.origin = 'file' and e._batch_id = p._batch_id and e._file_name = p._file_name "
            "and e._line_number = p._line_number)"
        ).format(part=file_part, staging=staging))
    cur.execute(sql.SQL("select count(*), array_agg(distinct _batch_id) from ({}) as missing").format(
        sql.SQL(" union all ").join(checks)))
    unclassified, unclassified_batches = cur.fetchone()
    if unclassified:
        return (f"{unclassified} raw rows of batches {sorted(unclassified_batches)[:20]} are not in "
                f"{STAGING_EVENTS} yet; the next transform_warehouse run classifies them")
    batch_sources = [sql.SQL("select distinct _batch_id from {}").format(part)
                     for part in (db_part, file_part) if part is not None]
    cur.execute(sql.SQL("select array_agg(distinct _batch_id) from ({}) as landed").format(
        sql.SQL(" union ").join(batch_sources)))
    batches = sorted(cur.fetchone()[0] or [])
    cur.execute(
        "select array_agg(batch_id order by batch_id) from audit.batches "
        "where batch_id = any(%s) and reconciled_at is null",
        (batches,),
    )
    unreconciled = cur.fetchone()[0]
    if unreconciled:
        return (f"batches {unreconciled[:20]} have not been reconciled yet; the next transform_warehouse run "
                "reconciles them")

    columns = _history_columns()
    target = sql.SQL(", ").join(sql.Identifier(c) for c in
                                [*columns, "origin", "_file_name", "_line_number", "_batch_id", "_loaded_at"])
    picked = sql.SQL(", ").join(
        [*(sql.SQL("e.{}").format(sql.Identifier(c)) for c in columns),
         sql.SQL("e.origin, e._file_name, e._line_number, e._batch_id, e._loaded_at")]
    )
    matches = {
        EVENTS_TABLE: ("db", sql.SQL("p._batch_id = e._batch_id and p.id = e.id")),
        EVENT_FILES_TABLE: ("file", sql.SQL(
            "p._batch_id = e._batch_id and p._file_name = e._file_name and p._line_number = e._line_number")),
    }
    kept: dict[str, int] = {}
    for table, name in names.items():
        origin, match = matches[table]
        cur.execute(sql.SQL(
            "insert into {history} ({target}) select {picked} from {staging} as e "
            "where e.is_current and e.origin = %s and exists (select 1 from raw.{part} as p where {match}) "
            "on conflict (id) do nothing"
        ).format(history=sql.SQL(HISTORY_TABLE), target=target, picked=picked, staging=staging,
                 part=sql.Identifier(name), match=match), (origin,))
        kept[table] = cur.rowcount

    rows_purged: dict[str, int] = {}
    for table, name in names.items():
        cur.execute(sql.SQL("select count(*), count(distinct _batch_id) from raw.{}").format(sql.Identifier(name)))
        rows, table_batches = cur.fetchone()
        rows_purged[table] = rows
        cur.execute(sql.SQL("alter table raw.{} detach partition raw.{}").format(
            sql.Identifier(table), sql.Identifier(name)))
        cur.execute(sql.SQL("drop table raw.{}").format(sql.Identifier(name)))
        cur.execute(
            """
            insert into audit.raw_purges (table_name, month, rows_purged, events_kept_in_history, batches, as_of_at)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (table_name, month) do update set
                rows_purged = audit.raw_purges.rows_purged + excluded.rows_purged,
                events_kept_in_history = audit.raw_purges.events_kept_in_history + excluded.events_kept_in_history,
                batches = audit.raw_purges.batches + excluded.batches,
                as_of_at = excluded.as_of_at,
                purged_at = clock_timestamp()
            """,
            (f"raw.{table}", month.start.date(), rows, kept[table], table_batches, as_of),
        )
    cur.execute(
        "update audit.batches set purged_at = clock_timestamp() where batch_id = any(%s) and purged_at is null",
        (batches,),
    )
    return MonthPurge(month=str(month), rows_purged=rows_purged, events_kept_in_history=sum(kept.values()),
                      batches=batches)


def vacuum_raw_events(conn_id: str = WAREHOUSE_CONN_ID) -> list[str]:
    """VACUUM (ANALYZE) the raw event tables (every partition) and the history table."""
    tables = [*(f"raw.{table}" for table in partitions.PARTITIONED_TABLES), HISTORY_TABLE]
    db.vacuum_analyze(conn_id, tables)
    log.info("vacuumed and analyzed %s", ", ".join(tables))
    return tables


def run_maintenance(as_of: datetime, retention_months: int | None = None, conn_id: str = WAREHOUSE_CONN_ID) -> dict:
    """The whole warehouse_maintenance run in one call (partition, purge, vacuum)."""
    partitioned = partition_raw_events(as_of, conn_id)
    purged = purge_raw_events(as_of, retention_months, conn_id)
    vacuumed = vacuum_raw_events(conn_id)
    return {"partitions": partitioned, "purge": purged.as_dict(), "vacuumed": vacuumed}
