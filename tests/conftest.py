"""Shared fixtures: a throwaway embedded PostgreSQL for the whole test session.

The test server has its own state dir and port, so tests never touch the demo's
warehouse. Every meridian setting and AIRFLOW_CONN_* variable the code reads is
pointed at it before any test runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def test_env() -> Iterator[dict[str, str]]:
    """Point meridian at a session-private state dir, landing dir, output dir and ports."""
    base = Path(tempfile.mkdtemp(prefix="meridian-test-"))
    os.chmod(base, 0o755)  # the embedded server runs as the pgserver user when tests run as root
    values = {
        "MERIDIAN_STATE_DIR": str(base / "state"),
        "MERIDIAN_LANDING_DIR": str(base / "landing"),
        "MERIDIAN_OUT_DIR": str(base / "out"),
        "MERIDIAN_PG_PORT": str(free_port()),
        "MERIDIAN_SMTP_PORT": str(free_port()),
        "AIRFLOW_HOME": str(base / "airflow"),
    }
    saved = {key: os.environ.get(key) for key in values}
    for key in list(os.environ):
        if key.startswith("AIRFLOW_CONN_"):
            saved[key] = os.environ.pop(key)
    os.environ.update(values)
    from meridian.config import connection_env

    conn_env = connection_env()
    os.environ.update(conn_env)
    for key in conn_env:
        saved.setdefault(key, None)
    yield {**values, **conn_env, "base": str(base)}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def warehouse_server(test_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A running embedded PostgreSQL with the warehouse and source databases."""
    from meridian.warehouse import embedded

    status = embedded.start()
    assert status.running, status.describe()
    yield test_env
    embedded.stop()


@contextmanager
def _private_server(prefix: str, env: Callable[[Path, int], dict[str, str]],
                    clear: Callable[[str], bool] = lambda key: False) -> Iterator[Path]:
    """An embedded PostgreSQL on a free port with a throwaway base dir (state, output), the environment
    pointed at it until the block ends: MERIDIAN_* and ``env(base, port)``, after the variables ``clear``
    picks are removed. Yields the base directory."""
    from meridian.warehouse import embedded

    port = free_port()
    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(base, 0o755)  # the server runs as the pgserver user when tests run as root
    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in os.environ if clear(key)]:
            patch.delenv(key)
        patch.setenv("MERIDIAN_STATE_DIR", str(base / "state"))
        patch.setenv("MERIDIAN_PG_PORT", str(port))
        patch.setenv("MERIDIAN_OUT_DIR", str(base / "out"))
        for key, value in env(base, port).items():  # after the state dir: a URI holds its password
            patch.setenv(key, value)
        embedded.start()
        try:
            yield base
        finally:
            embedded.stop()
            shutil.rmtree(base, ignore_errors=True)


@contextmanager
def private_warehouse(prefix: str, *setup: Callable[[Any], Any]) -> Iterator[Path]:
    """An embedded PostgreSQL of a test module's own: a free port and a throwaway state dir.

    For modules that need a warehouse shaped by hand (marts created by the test) beside the
    session server; MERIDIAN_* and AIRFLOW_CONN_WAREHOUSE point at it until the block ends.
    Each ``setup(conn)`` runs in turn on one warehouse connection (committed) before the block.
    """
    from meridian import db
    from meridian.config import embedded_uri

    with _private_server(prefix, lambda base, port: {"AIRFLOW_CONN_WAREHOUSE": embedded_uri("warehouse", port)}) as base:
        if setup:
            with db.connection("warehouse") as conn:
                for step in setup:
                    step(conn)
        yield base


@contextmanager
def private_stack(prefix: str, *, smtp_uri: str | None = None) -> Iterator[Path]:
    """An embedded PostgreSQL of a test module's own with the warehouse and every source database.

    Its own state dir, landing dir, output dir and Airflow home; every ``AIRFLOW_CONN_*``
    points at it (``smtp_reports`` at ``smtp_uri``, else a free port nobody listens on)
    until the block ends. For modules that generate their own sources and run the chain
    beside the session pipeline without touching it. Yields the base directory.
    """
    from meridian.config import EMBEDDED_DATABASES, SMTP_CONN_ID, embedded_uri

    def env(base: Path, port: int) -> dict[str, str]:
        return {
            "MERIDIAN_LANDING_DIR": str(base / "landing"),
            "AIRFLOW_HOME": str(base / "airflow"),
            **{f"AIRFLOW_CONN_{conn_id.upper()}": embedded_uri(conn_id, port) for conn_id in EMBEDDED_DATABASES},
            f"AIRFLOW_CONN_{SMTP_CONN_ID.upper()}": smtp_uri or f"smtp://127.0.0.1:{free_port()}",
        }

    def clear(key: str) -> bool:
        return key.startswith("AIRFLOW_CONN_") or key in ("DBT_TARGET_PATH", "MERIDIAN_DBT_DOCS_DIR")

    with _private_server(prefix, env, clear) as base:
        yield base
