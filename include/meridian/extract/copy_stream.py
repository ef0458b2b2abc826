"""Streaming a COPY from a source database straight into the warehouse, with progress in the log.

``COPY (select ...) TO STDOUT`` on the source is written into a pipe by one thread while the warehouse reads the
other end with ``COPY ... FROM STDIN``: Python moves blocks of a megabyte, each database converts its own rows.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import threading
import time

import psycopg2.extensions

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 10.0  # how often a long COPY logs how far it is
BLOCK_BYTES = 1 << 20  # what Python moves between the two COPYs at a time


def _widen_pipe(fd: int) -> None:
    """Let the pipe hold a whole block (Linux; 64 kB by default), so each side wakes once per block."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), BLOCK_BYTES)
    except OSError:  # above /proc/sys/fs/pipe-max-size, or not Linux: the default pipe works, in smaller steps
        pass


class _Progress(io.RawIOBase):
    """The read end of the COPY pipe, logging every PROGRESS_SECONDS how much has streamed (bytes: a binary
    COPY's rows cannot be counted without reading them one by one)."""

    def __init__(self, reader: io.BufferedReader, label: str) -> None:
        super().__init__()
        self._reader, self._label = reader, label
        self._started = self._logged = time.monotonic()
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block = self._reader.read(size)
        self.bytes += len(block)
        now = time.monotonic()
        if now - self._logged >= PROGRESS_SECONDS:
            self._logged = now
            seconds = now - self._started
            log.info("%s: %.0f MB streamed so far in %.0f s (%.1f MB/s)",
                     self._label, self.bytes / 1e6, seconds, self.bytes / 1e6 / seconds)
        return block


def stream_copy(
    source_conn: psycopg2.extensions.connection,
    copy_out_sql: str,
    warehouse_cur: psycopg2.extensions.cursor,
    copy_in_sql: str,
    label: str = "copy",
) -> int:
    """COPY rows out of the source and into the warehouse through a pipe, block by block; returns the rows copied.

    Python only moves blocks of 1 MB between the two connections: each side converts its own rows.
    """
    read_fd, write_fd = os.pipe()
    _widen_pipe(write_fd)
    errors: list[BaseException] = []

    def produce() -> None:
        # psycopg2 writes each row as its own call: a buffer of a block gathers them into one pipe write
        with os.fdopen(write_fd, "wb", buffering=BLOCK_BYTES) as writer:
            try:
                with source_conn.cursor() as src_cur:
                    src_cur.copy_expert(copy_out_sql, writer)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)

    producer = threading.Thread(target=produce, name="copy-out", daemon=True)
    producer.start()
    try:
        with os.fdopen(read_fd, "rb") as reader:
            warehouse_cur.copy_expert(copy_in_sql, _Progress(reader, label), size=BLOCK_BYTES)
    finally:
        producer.join()
    if errors:
        raise errors[0]
    return warehouse_cur.rowcount
