"""The API inside a real ``airflow api-server`` (plugins/meridian_api.py) under /meridian/api/v1.

The server runs with an AIRFLOW_HOME in the test's temp dir, this repository's plugins folder and the
``warehouse`` connection of the API test warehouse; it is stopped (its process group) afterwards.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from meridian.devtools.bench_api import stop_group
from tests.conftest import free_port


def first_answer(server: subprocess.Popen, url: str, *, seconds: float, pause: float, failure: Callable[[], str],
                 accept: Callable[[httpx.Response], bool] = lambda answer: True) -> httpx.Response:
    """The first answer to GET ``url`` that ``accept`` takes while ``server`` runs (a connection error is none).

    An AssertionError with the text ``failure()`` when the server exits or ``seconds`` pass first.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = httpx.get(url, timeout=5)
            if accept(answer):
                return answer
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(failure())
        time.sleep(pause)


@pytest.fixture(scope="module")
def api_server(api_world, tmp_path_factory) -> str:
    from meridian.airflow_env import airflow_env, run_airflow, venv_bin

    home = tmp_path_factory.mktemp("airflow-home")
    env = airflow_env({**os.environ, "AIRFLOW_HOME": str(home)})
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-" + os.urandom(8).hex(),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(Path(__file__).resolve().parents[2] / "plugins")})
    run_airflow(["db", "migrate"], env=env, capture=home / "db-migrate.log")
    port = free_port()
    log = open(home / "api-server.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen([venv_bin("airflow"), "api-server", "--port", str(port), "--host", "127.0.0.1",
                               "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        first_answer(
            server, f"{base}/meridian/api/v1/health", seconds=240, pause=1,
            failure=lambda: f"airflow api-server did not come up:\n{(home / 'api-server.log').read_text()[-3000:]}",
            accept=lambda answer: answer.status_code in (200, 503),
        )
        yield base
    finally:
        stop_group(server, timeout=30)
        log.close()


def test_the_api_answers_under_meridian_in_the_airflow_api_server(api_server, api_world):
    key = api_world["keys"]["acme"]
    health = httpx.get(f"{api_server}/meridian/api/v1/health", timeout=30)
    assert health.status_code == 200 and health.json()["data"]["warehouse"] == "ok"
    overview = httpx.get(f"{api_server}/meridian/api/v1/kpis/overview", headers={"Authorization": f"Bearer {key}"},
                         timeout=30)
    assert overview.status_code == 200, overview.text
    assert overview.json()["data"]["currency"] == "USD"
    assert httpx.get(f"{api_server}/meridian/api/v1/kpis/overview", timeout=30).status_code == 401
    document = httpx.get(f"{api_server}/meridian/api/v1/openapi.json", timeout=30)
    assert document.status_code == 200 and "/api/v1/payments/metrics" in document.json()["paths"]
    missing = httpx.get(f"{api_server}/meridian/api/v1/nope", timeout=30)
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_meridian_api_serves_the_same_app_standalone(api_world):
    from meridian.airflow_env import venv_bin

    port = free_port()
    server = subprocess.Popen([venv_bin("meridian"), "api", "--port", str(port), "--log-level", "warning"],
                              env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        health = first_answer(
            server, f"{base}/health", seconds=60, pause=0.3,
            failure=lambda: f"meridian api did not start: {server.stderr.read().decode()[-2000:]}",
        )
        assert health.status_code == 200
        key = api_world["keys"]["globex"]
        answer = httpx.get(f"{base}/payments/metrics?days=30", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["data"]["currency"] == "EUR"
    finally:
        stop_group(server, timeout=30)
