"""Writing generated rows into the four source databases with COPY.

One connection per source database, one transaction each: the tables are
created if missing (``SourceTable.create_sql``), truncated, filled, and
committed together at the end, so a failed generation leaves the previous data
in place. COPY runs on a background thread fed by a small queue: PostgreSQL
parses and indexes one chunk while Python generates the next. The tables are
truncated in the loading transaction, so COPY can use ``FREEZE`` (rows written
already frozen: no hint-bit rewrite on first read).

Rows are COPY text format lines (tab-separated, ``\\N`` for null).
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType

import psycopg2.extensions

from meridian import db
from meridian.config import SOURCE_CONNECTIONS
from meridian.sources.schema import SourceTable, tables_of

NULL = "\\N"
CHUNK_LINES = 20_000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: object) -> str:
    """One value in COPY text format."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def copy_line(values: Iterable[object]) -> str:
    return "\t".join([copy_value(value) for value in values]) + "\n"


class SourceLoader:
    """Replaces the contents of every source table; use as a context manager."""

    def __init__(self, queue_size: int = 4) -> None:
        self.row_counts: dict[str, int] = {}
        self._conns: dict[str, psycopg2.extensions.connection] = {}
        self._queue: queue.Queue[tuple[SourceTable, str] | None] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="meridian-demo-copy", daemon=True)

    def __enter__(self) -> SourceLoader:
        for source, conn_id in SOURCE_CONNECTIONS.items():
            self._conns[source] = db.connect(conn_id)
            with self._conns[source].cursor() as cur:
                tables = tables_of(source)
                for table in tables:
                    cur.execute(table.create_sql())
                    self.row_counts[table.qualified] = 0
                names = ", ".join(f"public.{table.name}" for table in tables)
                cur.execute(f"truncate table {names}")
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread.is_alive():
            self._put(None, check=False)
            self._thread.join()
        try:
            if exc_type is None and self._error is None:
                for conn in self._conns.values():
                    conn.commit()
                for source, conn in self._conns.items():
                    conn.autocommit = True
                    with conn.cursor() as cur:
                        for table in tables_of(source):
                            cur.execute(f"analyze public.{table.name}")
            else:
                for conn in self._conns.values():
                    conn.rollback()
        finally:
            for conn in self._conns.values():
                conn.close()
        if exc_type is None and self._error is not None:
            raise RuntimeError(f"loading generated rows failed: {self._error}") from self._error

    def copy_lines(self, table: SourceTable, lines: Sequence[str]) -> None:
        """Queue COPY text lines (each ending in a newline) for ``table``."""
        if not lines:
            return
        self.row_counts[table.qualified] += len(lines)
        self._put((table, "".join(lines)))

    def copy_rows(self, table: SourceTable, rows: Sequence[Sequence[object]]) -> None:
        """Queue rows given as value sequences in ``table.column_names`` order."""
        for start in range(0, len(rows), CHUNK_LINES):
            self.copy_lines(table, [copy_line(row) for row in rows[start:start + CHUNK_LINES]])

    def _put(self, item: tuple[SourceTable, str] | None, *, check: bool = True) -> None:
        while True:
            if check and self._error is not None:
                raise RuntimeError(f"loading generated rows failed: {self._error}") from self._error
            if not self._thread.is_alive() and item is not None:
                raise RuntimeError("the COPY thread has stopped")
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain after a failure; the main thread raises it
            table, text = item
            columns = ", ".join(table.column_names)
            try:
                with self._conns[table.source].cursor() as cur:
                    cur.copy_expert(
                        f"copy public.{table.name} ({columns}) from stdin with (freeze)",
                        io.BytesIO(text.encode("utf-8")),
                    )
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self._error = exc
