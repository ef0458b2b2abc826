"""The Airflow UI over a small private stack, for the browser tests.

Generates a small dataset into a private embedded PostgreSQL (``private_stack``),
whose ``airflow`` database holds Airflow's metadata, then starts ``airflow
standalone`` (api-server, scheduler, dag-processor, triggerer; LocalExecutor) on a
free port with the simple auth manager and its generated admin password, while
``airflow dags test extract_sources`` loads the raw layer (a first DAG run in the
metadata). The DAGs stay paused until the UI unpauses one. The server's process
group is stopped when the block ends; task processes still running then (each in
a session of its own) fail on the stopped database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from tests.conftest import free_port, private_stack

SEED = 20261205
SIZE = {"tenants": 1, "users": 120, "days": 21}
ADMIN = "admin"
DAGS = ("deliver_reports", "extract_sources", "transform_warehouse", "warehouse_maintenance")
START_TIMEOUT_S = 300


@dataclass(frozen=True)
class AirflowUi:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    username: str
    password: str
    as_of: date  # the last generated day (the extract run's as-of date)
    home: Path  # AIRFLOW_HOME (server log: standalone.log)


def generated_password(home: Path, username: str = ADMIN) -> str:
    """The simple auth manager's generated password of ``username`` (written when the API server starts)."""
    path = home / "simple_auth_manager_passwords.json.generated"
    passwords = json.loads(path.read_text())
    if username not in passwords:
        raise AssertionError(f"{path} has no password for {username!r} (users: {sorted(passwords)})")
    return passwords[username]


def api_token(url: str, username: str, password: str) -> str:
    """A JWT for Airflow's REST API from the simple auth manager's token endpoint."""
    answer = httpx.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


def parsed_dags(url: str, token: str) -> set[str]:
    answer = httpx.get(f"{url}/api/v2/dags", params={"limit": 100}, headers={"Authorization": f"Bearer {token}"},
                       timeout=30)
    return {dag["dag_id"] for dag in answer.json()["dags"]} if answer.status_code == 200 else set()


def wait_until_up(url: str, server: subprocess.Popen, home: Path, log: Path) -> str:
    """Wait for the API server, the generated password and every DAG parsed; the admin password.

    Fails with the server log's tail if the server exits or the deadline passes.
    """
    deadline = time.monotonic() + START_TIMEOUT_S
    password = None
    while True:
        try:
            if password is None and httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                password = generated_password(home)
            if password is not None and parsed_dags(url, api_token(url, ADMIN, password)) >= set(DAGS):
                return password
        except (httpx.HTTPError, FileNotFoundError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            state = f"exited with {server.returncode}" if server.poll() is not None else "timed out"
            raise AssertionError(f"airflow standalone did not come up with the DAGs {', '.join(DAGS)} ({state}); "
                                 f"log {log}:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(1)


def metadata_database(port: int) -> str:
    """The (empty) ``airflow`` database on the private embedded server, as Airflow's SQLAlchemy URI.

    PostgreSQL rather than SQLite: the API server, scheduler and the ``dags test`` run write at the same time.
    """
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    from meridian.config import WAREHOUSE_CONN_ID, embedded_uri

    warehouse = embedded_uri(WAREHOUSE_CONN_ID, port)
    conn = psycopg2.connect(warehouse)
    conn.autocommit = True
    with conn.cursor() as cur:  # the embedded server creates it empty (meridian.warehouse.embedded); older ones do not
        cur.execute("select 1 from pg_database where datname = 'airflow'")
        if cur.fetchone() is None:
            cur.execute("create database airflow")
    conn.close()
    parts = urlsplit(warehouse)
    return urlunsplit(("postgresql+psycopg2", parts.netloc, "/airflow", "", ""))


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL to whatever is left of it after 30 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children (api-server workers, log servers) that outlived the parent
    except ProcessLookupError:
        pass
    process.wait()


@contextmanager
def airflow_ui() -> Iterator[AirflowUi]:
    from meridian.airflow_env import airflow_env, run_airflow, venv_bin
    from meridian.config import settings
    from meridian.demo.generate import generate
    from meridian.demo.pipeline import dag_test_args, ensure_manifest, reset_warehouse

    with private_stack("meridian-browser-") as base:
        summary = generate(seed=SEED, progress=False, **SIZE)
        reset_warehouse()
        cfg = settings()
        home = base / "airflow"
        env = airflow_env()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env.update({
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_database(cfg.pg_port),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": url,
            # task processes report to this server's execution API, not to a default :8080 someone else may run
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            # on a busy machine the API server can take longer than the default 5 s to answer a task process
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-" + os.urandom(8).hex(),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # the UI reads running tasks' logs from the log servers: ports of this test's own
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        })
        log_dir = cfg.state_dir / "logs" / "browser"
        ensure_manifest(env)
        run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")
        log = home / "standalone.log"
        with log.open("wb") as out:
            # the server starts while the extract run loads the raw layer (its DAG run is in the metadata after)
            server = subprocess.Popen([venv_bin("airflow"), "standalone"], env=env, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
            try:
                run_airflow(dag_test_args("extract_sources", summary.end_date), env=env,
                            capture=log_dir / "extract_sources.log")
                password = wait_until_up(url, server, home, log)
                yield AirflowUi(url=url, username=ADMIN, password=password, as_of=summary.end_date, home=home)
            finally:
                stop_group(server)
