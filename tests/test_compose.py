"""docker-compose.yaml: secure defaults (every published port on 127.0.0.1 unless configured)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yaml"
LOOPBACK_DEFAULT = re.compile(r"^\$\{MERIDIAN_BIND_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$")


def test_every_published_port_binds_loopback_by_default():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    published = {name: spec["ports"] for name, spec in services.items() if spec.get("ports")}
    assert {"postgres", "airflow-apiserver", "mailpit", "metabase"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert LOOPBACK_DEFAULT.match(str(port)), f"{name} publishes {port!r} on every interface"


def test_compose_file_is_valid_where_docker_compose_exists(tmp_path):
    """``docker compose config`` where the plugin is installed; the YAML parse above everywhere else."""
    docker = shutil.which("docker")
    has_compose = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    if not has_compose:
        assert yaml.safe_load(COMPOSE.read_text())["services"]
        return
    env = tmp_path / ".env"
    env.write_text("FERNET_KEY=x\nAIRFLOW__API_AUTH__JWT_SECRET=x\nMERIDIAN_DB_PASSWORD=x\nPOSTGRES_PASSWORD=x\n"
                   "AIRFLOW_ADMIN_PASSWORD=x\n")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "--env-file", str(env), "config", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_runs_celery_as_the_local_celery_test_does():
    """The settings meridian.services gives a local CeleryExecutor (tests/e2e/test_celery.py) are the ones compose sets."""
    from meridian.services import CELERY_SETTINGS

    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    env = services["airflow-scheduler"]["environment"]
    assert set(CELERY_SETTINGS) <= set(env), set(CELERY_SETTINGS) - set(env)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    commands = {name: services[name].get("command") for name in services}
    assert commands["airflow-apiserver"] == ["api-server"]
    for name in ("scheduler", "dag-processor", "triggerer"):
        assert commands[f"airflow-{name}"] == [name]
    assert commands["airflow-worker"] == ["celery", "worker"]
    assert services["airflow-worker"]["deploy"]["replicas"] == 2
    assert "redis" in services
