"""The environment for running Airflow and dbt on this checkout.

Builds the variables a local ``airflow`` or ``dbt`` process needs: a local
AIRFLOW_HOME with SQLite metadata, this repository's dags/ and plugins/, no
example DAGs, and an ``AIRFLOW_CONN_<ID>`` for every connection id that the
environment does not already set (the embedded defaults).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from meridian.config import WAREHOUSE_CONN_ID, connection_env, postgres_dsn, settings


def venv_bin(name: str) -> str:
    """A console script of the running interpreter's venv (``airflow``, ``dbt``)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed in {Path(sys.executable).parent}; run `make install`")
    return found


def airflow_env(base: dict[str, str] | None = None) -> dict[str, str]:
    cfg = settings()
    env = dict(os.environ if base is None else base)
    airflow_home = Path(env.get("AIRFLOW_HOME") or cfg.state_dir / "airflow")
    env.setdefault("AIRFLOW_HOME", str(airflow_home))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(cfg.root / "dags"))
    env.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(cfg.root / "plugins"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # the UI and the KPI API plugin listen on this machine only unless configured otherwise
    env.setdefault("AIRFLOW__API__HOST", "127.0.0.1")
    env.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "120")
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    # no usage telemetry from Airflow or dbt: runs stay on this machine's network
    env.setdefault("AIRFLOW__USAGE_DATA_COLLECTION__ENABLED", "False")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("SCARF_NO_ANALYTICS", "true")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    env.setdefault("MERIDIAN_LANDING_DIR", str(cfg.landing_dir))
    env.setdefault("MERIDIAN_HOME", str(cfg.root))
    # the venv's bin first, so the Airflow services and tasks find its own executables
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for key, value in connection_env().items():
        env.setdefault(key, value)
    env.update(dbt_profile_env(env))
    return env


def dbt_profile_env(env: dict[str, str]) -> dict[str, str]:
    """MERIDIAN_WAREHOUSE_* variables for dbt_project/profiles.yml, from the warehouse connection."""
    uri = env.get(f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}") or postgres_dsn(WAREHOUSE_CONN_ID)
    parts = urlsplit(uri)
    return {
        "MERIDIAN_WAREHOUSE_HOST": parts.hostname or "127.0.0.1",
        "MERIDIAN_WAREHOUSE_PORT": str(parts.port or 5432),
        "MERIDIAN_WAREHOUSE_USER": unquote(parts.username or "postgres"),
        "MERIDIAN_WAREHOUSE_PASSWORD": unquote(parts.password or ""),
        "MERIDIAN_WAREHOUSE_DB": (parts.path or "/warehouse").lstrip("/") or "warehouse",
    }


def run_airflow(args: list[str], *, env: dict[str, str] | None = None, check: bool = True,
                capture: Path | None = None) -> subprocess.CompletedProcess:
    """Run an ``airflow`` command; with ``capture`` its output goes to that log file."""
    full_env = env or airflow_env()
    cmd = [venv_bin("airflow"), *args]
    if capture is None:
        return subprocess.run(cmd, env=full_env, check=check)
    capture.parent.mkdir(parents=True, exist_ok=True)
    with capture.open("w") as log_file:
        result = subprocess.run(cmd, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, check=False)
    if check and result.returncode != 0:
        tail = "".join(capture.read_text(errors="replace").splitlines(keepends=True)[-60:])
        raise RuntimeError(f"`airflow {' '.join(args)}` failed (exit {result.returncode}); log {capture}:\n{tail}")
    return result


def run_dbt(args: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cfg = settings()
    cmd = [venv_bin("dbt"), *args, "--project-dir", str(cfg.dbt_project_dir), "--profiles-dir",
           str(cfg.dbt_project_dir)]
    return subprocess.run(cmd, env=env or airflow_env(), check=check, cwd=cfg.dbt_project_dir)
