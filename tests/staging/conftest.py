"""A private embedded PostgreSQL per test module, bootstrapped like a fresh warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import private_warehouse


@pytest.fixture(scope="module")
def staging_warehouse(test_env: dict[str, str]) -> Iterator[Path]:
    """A fresh warehouse (schemas, raw and audit tables) of the module's own; yields a scratch dir."""
    from meridian import db
    from meridian.warehouse.bootstrap import ensure_warehouse

    with private_warehouse("meridian-staging-test-") as base:
        with db.connection("warehouse") as conn:
            ensure_warehouse(conn)
            conn.commit()
        yield base
