"""One real warehouse for the API tests (tests/api/build.py), row security applied, keys for two tenants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meridian import db


@pytest.fixture(scope="session")
def api_world() -> Iterator[dict]:
    from tests.api.build import api_warehouse

    with api_warehouse() as built:
        from meridian.serve.api import keys
        from meridian.serve.rls import apply_row_security

        with db.connection("warehouse") as conn:
            apply_row_security(conn)
            acme = keys.create_key(conn, "acme", "acme dashboard")
            globex = keys.create_key(conn, "globex", "globex dashboard")
            revoked = keys.create_key(conn, "acme", "old key")
            keys.revoke_key(conn, revoked.key_id)
        yield {**built, "keys": {"acme": acme.key, "globex": globex.key}, "revoked": revoked.key}


@pytest.fixture(scope="session")
def client(api_world):
    from fastapi.testclient import TestClient

    from meridian.config import api_settings
    from meridian.serve.api import create_app
    from meridian.serve.api.service import ApiService

    settings = api_settings()
    settings = type(settings)(**{**settings.__dict__, "rate_limits": {group: 0 for group in settings.rate_limits}})
    service = ApiService(settings, db.dsn("warehouse"))
    with TestClient(create_app(service)) as test_client:
        test_client.service = service
        yield test_client
    service.pool.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
