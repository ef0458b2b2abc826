"""A bounded, thread-safe pool of warehouse connections (psycopg2); callers wait for a free one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import psycopg2.pool

from meridian.serve.api.errors import ApiError


class ConnectionPool:
    def __init__(self, dsn: str, size: int, wait_seconds: float = 10.0):
        self._dsn = dsn
        self._size = size
        self._wait = wait_seconds
        self._slots = threading.BoundedSemaphore(size)
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._lock:
            if self._pool is None:
                try:
                    # minconn = maxconn: psycopg2 closes a returned connection when the pool holds minconn
                    # idle ones, so a smaller minconn would reconnect on almost every request
                    self._pool = psycopg2.pool.ThreadedConnectionPool(
                        self._size, self._size, self._dsn, options="-c timezone=UTC", application_name="meridian-api")
                except psycopg2.OperationalError as exc:
                    raise ApiError(503, f"the warehouse is unreachable: {str(exc).strip()}") from exc
            return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection in a fresh transaction, rolled back and returned to the pool afterwards."""
        if not self._slots.acquire(timeout=self._wait):
            raise ApiError(503, f"all {self._size} warehouse connections are busy; retry shortly",
                           headers={"Retry-After": "1"})
        try:
            pool = self._get_pool()
            try:
                conn = pool.getconn()
            except psycopg2.OperationalError as exc:
                raise ApiError(503, f"the warehouse is unreachable: {str(exc).strip()}") from exc
            broken = False
            try:
                yield conn
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                broken = True
                raise
            finally:
                if not conn.closed and not broken:
                    try:
                        conn.rollback()
                    except psycopg2.Error:
                        broken = True
                pool.putconn(conn, close=broken or bool(conn.closed))
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None
