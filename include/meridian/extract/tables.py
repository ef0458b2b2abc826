"""Incremental extraction of one source table into its append-only raw table.

Nothing is lost (docs/sources.md, "Nothing lost at extraction"; the guarantee and
its proof are in docs/extraction.md). Each run reads, in one REPEATABLE READ
transaction on the source:

* the **window**: rows whose extraction key (``updated_at``, or
  ``received_at`` for append-only tables) is in ``[watermark - overlap, T)``,
  T being the run's as-of instant;
* the **sweep**: rows whose key is null or before the window and that the
  previous run may not have seen: rows written by a transaction that was still
  open, or not yet begun, when the previous run's snapshot was taken. The
  previous run stores its snapshot (``pg_current_snapshot()``, taken in the
  same transaction as its COPY) in ``audit.watermarks``; a row is swept when
  its ``xmin`` is at or after that snapshot's ``xmin`` (compared by ``age()``,
  a 32-bit distance from the current transaction id): every transaction not
  visible to that snapshot is, and so are their subtransactions, which
  ``pg_visible_in_snapshot`` cannot judge. A few rows written just before the
  snapshot are read again; they are identical, and staging counts them as
  duplicates.

The first run (no watermark, or a watermark stored before snapshots were) reads
every row with a key before T or no key at all. Rows with a key at or after T
stay for a later window. Both parts are one ``COPY (select ...) TO STDOUT``
streamed straight into ``COPY raw.<source>__<table> FROM STDIN``; the batch
row, the rows, the new watermark and the snapshot commit in one warehouse
transaction, so a failed load advances nothing and a retry reloads the same
rows. A run for an instant at or before the watermark loads nothing (the raw
layer already holds that window; a later run sweeps whatever arrived since).

Before the COPY the source table's columns are compared with the contract
(:mod:`meridian.extract.drift`): an added column is not read, a dropped
optional column lands as null, a retyped column is converted to the contract
type by the raw table's input (a value that does not convert fails this table,
naming the column and the value), a missing required column fails this table.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg2
import psycopg2.extensions

from meridian.config import settings
from meridian.extract.bulk_load import prepare_bulk_load
from meridian.extract.copy_stream import stream_copy
from meridian.extract.drift import (
    SourceTableError,
    missing_required,
    read_source_columns,
    record_schema_changes,
)
from meridian.runtime import covered_date, end_of_day, to_instant
from meridian.sources.schema import ColumnChange, SourceTable, schema_changes

log = logging.getLogger(__name__)

NO_WATERMARK = datetime(1900, 1, 1, tzinfo=UTC)
XID_SPACE = 1 << 32  # a row's xmin is the low 32 bits of its 64-bit transaction id
FIRST_NORMAL_XID = 3  # ids 0 to 2 are special (invalid, bootstrap, frozen): age() calls them infinitely old


@dataclass(frozen=True)
class BatchResult:
    source: str
    table_name: str
    batch_id: int | None  # None when the window was already loaded
    window_start: datetime
    window_end: datetime
    landed: int
    seconds: float = 0.0

    def describe(self) -> str:
        if self.batch_id is None:
            return f"{self.source}.{self.table_name}: up to date (watermark {self.window_start.isoformat()})"
        return (
            f"{self.source}.{self.table_name}: batch {self.batch_id}, {self.landed} rows "
            f"[{self.window_start.isoformat()}, {self.window_end.isoformat()}) in {self.seconds:.1f}s"
            f"{f' ({self.landed / self.seconds:,.0f} rows/s)' if self.seconds > 0 else ''}"
        )


__all__ = ["BatchResult", "SourceTableError", "end_of_day", "extract_table", "start_batch"]


def start_batch(
    cur: psycopg2.extensions.cursor,
    *,
    source: str,
    table_name: str,
    as_of: date | datetime,
    window_start: datetime | None,
    window_end: datetime,
    file_name: str | None = None,
    file_checksum: str | None = None,
) -> tuple[int, datetime]:
    """Insert the batch row (landed filled in later) and set the session defaults for the raw columns.

    ``as_of`` is the run's as-of instant (a date means the end of that day): a
    transform at instant T sees the batches of runs with ``as_of_at <= T``.
    """
    as_of_at = to_instant(as_of)
    # one round trip: the batch row, then both settings (loaded_at written in ISO form with its UTC offset)
    cur.execute(
        """
        with batch as (
            insert into audit.batches (source, table_name, as_of_date, as_of_at, window_start, window_end, file_name,
                                       file_checksum, landed)
            values (%s, %s, %s, %s, %s, %s, %s, %s, 0)
            returning batch_id, loaded_at
        )
        select batch_id, loaded_at, set_config('meridian.batch_id', batch_id::text, true),
               set_config('meridian.loaded_at',
                          to_char(loaded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), true)
        from batch
        """,
        (source, table_name, covered_date(as_of_at), as_of_at, window_start, window_end, file_name, file_checksum),
    )
    batch_id, loaded_at, _, _ = cur.fetchone()
    return batch_id, loaded_at


@dataclass(frozen=True)
class SourceSnapshot:
    """The source's snapshot of one extraction: ``pg_current_snapshot()`` as text and its xmin, xmax."""

    text: str

    @property
    def xmin(self) -> int:
        return int(self.text.split(":")[0])

    @property
    def xmax(self) -> int:
        return int(self.text.split(":")[1])


def binary_copy(changes: list[ColumnChange]) -> bool:
    """Whether the COPY can use the binary format: every column read has the contract's type in the source.

    Binary COPY skips the text conversion of every value on both sides, but
    needs the source's types to be the raw table's. A retyped column (converted
    to the contract type as it lands) or a dropped one (read as null) needs the
    text format; an added column is not read.
    """
    return all(change.kind == "added" for change in changes)


def select_list(table: SourceTable, changes: list[ColumnChange]) -> list[str]:
    """The contract's columns as the source query selects them: a dropped (optional) column as null."""
    dropped = {change.column for change in changes if change.kind == "dropped"}
    return [f"null as {name}" if name in dropped else name for name in table.column_names]


def key_expression(table: SourceTable, changes: list[ColumnChange]) -> str:
    """The extraction key as a timestamptz: null when the column is gone (every row is then swept)."""
    change = next((change for change in changes if change.column == table.extract_key), None)
    if change is None:
        return table.extract_key
    if change.kind == "dropped":
        return "cast(null as timestamptz)"
    return f"cast({table.extract_key} as timestamptz)"


def row_filter(
    key: str,
    window_start: datetime | None,
    window_end: datetime,
    previous: SourceSnapshot | None,
    current: SourceSnapshot,
) -> str:
    """The where clause of one extraction: the window on the key, plus the sweep (see the module docstring).

    Literal bounds: COPY (query) takes no parameters; every value is a timestamp or number we produced.
    """
    end = f"'{window_end.isoformat()}'::timestamptz"
    if window_start is None or previous is None:
        return f"{key} < {end} or {key} is null"
    if not sweep_by_age(previous, current):
        return f"{key} < {end} or {key} is null"
    start = f"'{window_start.isoformat()}'::timestamptz"
    # age(xid) is how many transaction ids the row's lies before the transaction's "now" (the next id, read once
    # per transaction, at or after the current snapshot's xmax), as a 32-bit difference: the row's id is at or
    # after the previous snapshot's xmin exactly when its age is at most that xmin's age (the initplan, evaluated
    # once). A negative age is an id more than 2^31 back (a frozen row's raw xmin), never swept. The age comes
    # first: it needs no column of the row, so the scan decodes a row's columns only for the rows it sweeps or
    # that might lie in the window.
    pivot = previous.xmin % XID_SPACE
    swept = f"age(xmin) <= (select age('{pivot}'::xid)) and age(xmin) >= 0 and ({key} < {start} or {key} is null)"
    return f"({swept}) or ({key} >= {start} and {key} < {end})"


# how many transaction ids may lie between the previous snapshot's xmin and the current snapshot's xmax for
# age(): well inside its signed 32-bit range, with room for the ids assigned while the run reads
SWEEP_REACH = 1 << 30


def sweep_by_age(previous: SourceSnapshot, current: SourceSnapshot) -> bool:
    """Whether the sweep can judge rows by ``age(xmin)``: the previous snapshot's xmin lies less than
    SWEEP_REACH ids back and is a normal transaction id. Otherwise (a billion transactions between two runs)
    the run reads every row before the window again, as after a snapshot from another database."""
    reach = current.xmax - previous.xmin
    return 0 <= reach < SWEEP_REACH and previous.xmin % XID_SPACE >= FIRST_NORMAL_XID


def _data_error(table: SourceTable, changes: list[ColumnChange], exc: psycopg2.Error) -> SourceTableError:
    """A value that does not convert to the contract type, named with its column (from COPY's context)."""
    context = (exc.diag.context or "") if exc.diag else ""
    primary = (exc.diag.message_primary if exc.diag else None) or str(exc).strip()
    match = re.search(r"column (\w+): (.*)$", context, re.MULTILINE)
    if not match:
        return SourceTableError(f"{table.qualified}: a value cannot be read as the contract (docs/sources.md) says: "
                                f"{primary}")
    column, value = match.group(1), match.group(2)
    contract_type = dict(table.columns).get(column, "?")
    change = next((change for change in changes if change.column == column and change.kind == "retyped"), None)
    source_type = f" (the source column is {change.actual_type})" if change else ""
    return SourceTableError(
        f"{table.qualified}: column {column}{source_type} has the value {value}, which does not convert to the "
        f"contract type {contract_type}: {primary}. Fix the value or the column type in the source; the other "
        f"tables are extracted as usual."
    )


def extract_table(
    table: SourceTable,
    as_of: date | datetime,
    source_conn: psycopg2.extensions.connection,
    warehouse_conn: psycopg2.extensions.connection,
    *,
    overlap: timedelta | None = None,
) -> BatchResult:
    """Load the rows of ``table`` up to ``as_of`` not yet landed into ``raw.<source>__<table>``.

    ``as_of`` is the run's as-of instant (a date means the end of that UTC day); ``overlap`` is how far
    before the watermark the window starts (default: MERIDIAN_EXTRACT_OVERLAP_MINUTES).
    """
    started = time.monotonic()
    window_end = to_instant(as_of)
    if overlap is None:
        overlap = timedelta(minutes=settings().extract_overlap_minutes)
    source_conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
    try:
        with source_conn.cursor() as src:
            # the first statement fixes the transaction's snapshot: the one the COPY below reads
            src.execute("select pg_current_snapshot()::text")
            current = SourceSnapshot(src.fetchone()[0])
            changes = schema_changes(table, read_source_columns(src, table))
        # alerts commit on their own: a table that then fails still reports its drift
        record_schema_changes(warehouse_conn, table, changes, covered_date(window_end))
        warehouse_conn.commit()
        error = missing_required(table, changes)
        if error is not None:
            raise error
        return _load(table, as_of, window_end, overlap, changes, current, source_conn, warehouse_conn, started)
    finally:
        source_conn.rollback()


def _load(
    table: SourceTable,
    as_of: date | datetime,
    window_end: datetime,
    overlap: timedelta,
    changes: list[ColumnChange],
    current: SourceSnapshot,
    source_conn: psycopg2.extensions.connection,
    warehouse_conn: psycopg2.extensions.connection,
    started: float,
) -> BatchResult:
    with warehouse_conn.cursor() as cur:
        # serialise concurrent runs of the same table; the lock ends with the transaction
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"meridian.extract.{table.qualified}",))
        # the commit need not wait for its WAL flush: a crash can only lose this whole transaction (batch, rows,
        # watermark and snapshot together, and every later commit with it), and the next run reads the same rows
        # again from the source. (Not for event files: a file moves to archive/ once its load has committed.)
        cur.execute("set local synchronous_commit = off")
        cur.execute(
            "select watermark, source_snapshot from audit.watermarks where source = %s and table_name = %s",
            (table.source, table.name),
        )
        row = cur.fetchone()
        watermark, previous = (row[0], SourceSnapshot(row[1]) if row[1] else None) if row else (None, None)
        if watermark is not None and watermark >= window_end:
            warehouse_conn.rollback()
            return BatchResult(table.source, table.name, None, watermark, window_end, 0)
        if previous is not None and previous.xmin > current.xmax:
            # transaction ids went backwards: another database (restored, or a new connection target)
            log.warning(
                "%s: the stored source snapshot %s is ahead of the source's current one %s (another database?); "
                "reading every row before the window again", table.qualified, previous.text, current.text,
            )
            previous = None
        elif previous is not None and not sweep_by_age(previous, current):
            log.warning(
                "%s: more than %s transaction ids passed between the stored source snapshot %s and the current one "
                "%s; reading every row before the window again", table.qualified, f"{SWEEP_REACH:,}", previous.text,
                current.text,
            )
            previous = None
        window_start = None if watermark is None else watermark - overlap
        batch_id, loaded_at = start_batch(
            cur, source=table.source, table_name=table.name, as_of=as_of,
            window_start=window_start or NO_WATERMARK, window_end=window_end,
        )
        key = key_expression(table, changes)
        selected, columns = select_list(table, changes), list(table.column_names)
        binary = binary_copy(changes)
        if binary:
            # the source writes the batch columns too: the warehouse then evaluates no default per row
            selected += [f"cast({batch_id} as bigint)", f"cast('{loaded_at.isoformat()}' as timestamptz)"]
            columns += ["_batch_id", "_loaded_at"]
        options = " (format binary)" if binary else ""
        copy_out = (
            f"copy (select {', '.join(selected)} from public.{table.name} "
            f"where ({row_filter(key, window_start, window_end, previous, current)})) to stdout{options}"
        )
        bulk = prepare_bulk_load(cur, f"raw.{table.raw_table}")
        target = bulk.target if bulk else f"raw.{table.raw_table}"
        copy_in = f"copy {target} ({', '.join(columns)}) from stdin{options}"
        try:
            landed = stream_copy(source_conn, copy_out, cur, copy_in, label=table.qualified)
        except psycopg2.DataError as exc:
            warehouse_conn.rollback()
            raise _data_error(table, changes, exc) from exc
        for definition in bulk.indexes if bulk else ():
            cur.execute(definition)
        if bulk is not None:
            log.info("%s: raw.%s was empty: loaded without maintaining its indexes, built them after (%s)%s",
                     table.qualified, table.raw_table, len(bulk.indexes),
                     f"; the rows went straight into its only partition, {target}" if target != f"raw.{table.raw_table}"
                     else "")
        cur.execute("update audit.batches set landed = %s where batch_id = %s", (landed, batch_id))
        cur.execute(
            """
            insert into audit.watermarks (source, table_name, watermark, batch_id, source_snapshot, updated_at)
            values (%s, %s, %s, %s, %s, clock_timestamp())
            on conflict (source, table_name)
            do update set watermark = excluded.watermark, batch_id = excluded.batch_id,
                          source_snapshot = excluded.source_snapshot, updated_at = excluded.updated_at
            """,
            (table.source, table.name, window_end, batch_id, current.text),
        )
    warehouse_conn.commit()
    result = BatchResult(
        table.source, table.name, batch_id, window_start or NO_WATERMARK, window_end, landed,
        time.monotonic() - started,
    )
    log.info("%s", result.describe())
    return result
