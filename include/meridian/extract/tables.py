"""Incremental extraction of one source table into its append-only raw table.

The window is ``[watermark, as-of instant)`` on the table's extraction
key (``updated_at``, or ``received_at`` for append-only tables). Rows stream
from the source with ``COPY ... TO STDOUT`` straight into ``COPY raw.<table>
FROM STDIN``; the batch row, the rows and the new watermark commit in one
warehouse transaction, so a failed load advances nothing and a retry reloads
the same window. A run for an instant at or before the watermark loads nothing
(the raw layer already holds that window).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg2.extensions

from meridian.runtime import covered_date, end_of_day, to_instant
from meridian.sources.schema import SourceTable

log = logging.getLogger(__name__)

NO_WATERMARK = datetime(1900, 1, 1, tzinfo=UTC)


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
        )


__all__ = ["BatchResult", "end_of_day", "extract_table", "start_batch"]


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
    cur.execute(
        """
        insert into audit.batches (source, table_name, as_of_date, as_of_at, window_start, window_end, file_name,
                                   file_checksum, landed)
        values (%s, %s, %s, %s, %s, %s, %s, %s, 0)
        returning batch_id, loaded_at
        """,
        (source, table_name, covered_date(as_of_at), as_of_at, window_start, window_end, file_name, file_checksum),
    )
    batch_id, loaded_at = cur.fetchone()
    cur.execute("select set_config('meridian.batch_id', %s, true)", (str(batch_id),))
    cur.execute("select set_config('meridian.loaded_at', %s, true)", (loaded_at.isoformat(),))
    return batch_id, loaded_at


def _stream_copy(
    source_conn: psycopg2.extensions.connection,
    copy_out_sql: str,
    warehouse_cur: psycopg2.extensions.cursor,
    copy_in_sql: str,
) -> int:
    """COPY rows out of the source and into the warehouse through a pipe; returns the rows copied."""
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def produce() -> None:
        with os.fdopen(write_fd, "wb") as writer:
            try:
                with source_conn.cursor() as src_cur:
                    src_cur.copy_expert(copy_out_sql, writer)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)

    producer = threading.Thread(target=produce, name="copy-out", daemon=True)
    producer.start()
    try:
        with os.fdopen(read_fd, "rb") as reader:
            warehouse_cur.copy_expert(copy_in_sql, reader, size=1 << 20)
    finally:
        producer.join()
    if errors:
        raise errors[0]
    return warehouse_cur.rowcount


def extract_table(
    table: SourceTable,
    as_of: date | datetime,
    source_conn: psycopg2.extensions.connection,
    warehouse_conn: psycopg2.extensions.connection,
) -> BatchResult:
    """Load one window of ``table`` into ``raw.<source>__<table>`` and advance its watermark.

    ``as_of`` is the run's as-of instant (a date means the end of that UTC day).
    """
    import time as _time

    started = _time.monotonic()
    window_end = to_instant(as_of)
    columns = ", ".join(table.column_names)
    with warehouse_conn.cursor() as cur:
        # serialise concurrent runs of the same table; the lock ends with the transaction
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"meridian.extract.{table.qualified}",))
        cur.execute(
            "select watermark from audit.watermarks where source = %s and table_name = %s",
            (table.source, table.name),
        )
        row = cur.fetchone()
        window_start = row[0] if row else NO_WATERMARK
        if window_start >= window_end:
            warehouse_conn.rollback()
            return BatchResult(table.source, table.name, None, window_start, window_end, 0)
        batch_id, _ = start_batch(
            cur, source=table.source, table_name=table.name, as_of=as_of,
            window_start=window_start, window_end=window_end,
        )
        # literal bounds: COPY (query) takes no parameters; both are timestamps we produced
        copy_out = (
            f"copy (select {columns} from public.{table.name} "
            f"where {table.extract_key} >= '{window_start.isoformat()}'::timestamptz "
            f"and {table.extract_key} < '{window_end.isoformat()}'::timestamptz) to stdout"
        )
        source_conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
        try:
            landed = _stream_copy(source_conn, copy_out, cur, f"copy raw.{table.raw_table} ({columns}) from stdin")
        finally:
            source_conn.rollback()
        cur.execute("update audit.batches set landed = %s where batch_id = %s", (landed, batch_id))
        cur.execute(
            """
            insert into audit.watermarks (source, table_name, watermark, batch_id, updated_at)
            values (%s, %s, %s, %s, clock_timestamp())
            on conflict (source, table_name)
            do update set watermark = excluded.watermark, batch_id = excluded.batch_id,
                          updated_at = excluded.updated_at
            """,
            (table.source, table.name, window_end, batch_id),
        )
    warehouse_conn.commit()
    result = BatchResult(
        table.source, table.name, batch_id, window_start, window_end, landed, _time.monotonic() - started
    )
    log.info("%s", result.describe())
    return result
