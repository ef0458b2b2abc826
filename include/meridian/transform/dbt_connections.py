"""Keep dbt's PostgreSQL connections open from one node to the next within one dbt command.

dbt-postgres closes a node's connection when the node ends, so every node of a
build starts a new PostgreSQL backend: a connect, a backend process forked and
its catalog caches filled again by the node's first metadata query. An
incremental run is ~120 small nodes, where that is a fixed cost paid per node.

Inside :func:`connections_kept_open`, a node's connection stays open for the
next node of the same dbt thread (dbt renames and reuses an open connection,
as it does for adapters that keep connections, e.g. dbt-snowflake's
``reuse_connections``); dbt closes them all when the command ends
(``cleanup_connections``). What a node leaves open is ended first, as a close
would end it: a transaction dbt did not commit is rolled back. A connection
that cannot be brought back to idle is closed as before. Nothing else carries
over between nodes: the project sets session state only with ``set local``,
which ends with the node's transaction, and dbt's temporary tables have
unique names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_users = 0
_closing_release: Callable[[Any], None] | None = None  # dbt's own BaseConnectionManager.release


def _ended(connection: Any) -> bool:
    """End what a node left open on its connection (a close would roll it back); True when it is idle."""
    from psycopg2.extensions import TRANSACTION_STATUS_IDLE

    handle = connection.handle
    if handle.closed:
        return False
    if connection.transaction_open or handle.get_transaction_status() != TRANSACTION_STATUS_IDLE:
        handle.rollback()
        connection.transaction_open = False
    return not handle.closed and handle.get_transaction_status() == TRANSACTION_STATUS_IDLE


def _keeping_release(manager: Any) -> None:
    """BaseConnectionManager.release that keeps an open, idle connection for the thread's next node."""
    connection = manager.get_if_exists()
    if connection is not None and connection.state == "open":
        try:
            if _ended(connection):
                return
        except Exception:  # a broken connection: closed below, as dbt would
            log.debug("dbt connection %s not kept open", connection.name, exc_info=True)
    assert _closing_release is not None
    _closing_release(manager)


@contextmanager
def connections_kept_open() -> Iterator[None]:
    """Within the block, dbt keeps each thread's connection open between nodes (nested and threads: counted)."""
    from dbt.adapters.base.connections import BaseConnectionManager

    global _users, _closing_release
    with _lock:
        if _users == 0:
            _closing_release = BaseConnectionManager.release
            BaseConnectionManager.release = _keeping_release
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                BaseConnectionManager.release = _closing_release
                _closing_release = None
