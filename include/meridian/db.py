"""Database connections by Airflow connection id.

Resolution order for a connection id: the ``AIRFLOW_CONN_<ID>`` environment
variable, then an Airflow connection of that id (when running inside Airflow),
then the embedded default on 127.0.0.1. Every session runs in UTC.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from meridian.config import normalize_postgres_uri, postgres_dsn

log = logging.getLogger(__name__)


def dsn(conn_id: str) -> str:
    if not os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}") and "airflow.sdk" in sys.modules:
        # inside an Airflow process, a connection defined in Airflow (UI, secrets backend) comes next
        try:
            from airflow.sdk import BaseHook

            return normalize_postgres_uri(BaseHook.get_connection(conn_id).get_uri())
        except Exception:  # noqa: BLE001 - no such connection: fall back to the embedded default
            log.info("connection %s is not defined in Airflow; using the embedded default", conn_id)
    return postgres_dsn(conn_id)


def connect(conn_id: str, *, autocommit: bool = False, uri: str | None = None) -> psycopg2.extensions.connection:
    """Open a psycopg2 connection for ``conn_id`` with the session time zone set to UTC.

    ``uri``: the connection's :func:`dsn` resolved beforehand (worker threads of a task use the one their
    task resolved, so that only the task's own thread asks Airflow for connections).
    """
    uri = uri or dsn(conn_id)
    try:
        conn = psycopg2.connect(uri, options="-c timezone=UTC", application_name="meridian")
    except psycopg2.OperationalError as exc:
        safe = uri.split("@")[-1]
        raise ConnectionError(
            f"cannot connect to connection id {conn_id!r} (…@{safe}): {exc.args[0].strip()}. "
            f"Set AIRFLOW_CONN_{conn_id.upper()} or start the embedded warehouse with `meridian warehouse start`."
        ) from exc
    conn.autocommit = autocommit
    return conn


@contextmanager
def connection(
    conn_id: str, *, autocommit: bool = False, uri: str | None = None
) -> Iterator[psycopg2.extensions.connection]:
    """A connection that commits on success, rolls back on error, and always closes (``uri``: see :func:`connect`)."""
    conn = connect(conn_id, autocommit=autocommit, uri=uri)
    try:
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit:
            conn.rollback()
        raise
    finally:
        conn.close()


def vacuum_analyze(conn_id: str, tables: Iterable[str]) -> list[str]:
    """``VACUUM (ANALYZE)`` each of ``tables`` (``schema.name``) on its own autocommit connection.

    VACUUM cannot run inside a transaction block, so it never shares a connection with other work.
    """
    names = list(tables)
    with connection(conn_id, autocommit=True) as conn, conn.cursor() as cur:
        for name in names:
            cur.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(*name.split("."))))
    return names
