"""meridian.services: the environment every Airflow service gets, the admin password file, the metadata database.

Starting the services is tested end to end by tests/e2e/test_celery.py.
"""

from __future__ import annotations

import json
import stat

import psycopg2
import pytest

from meridian import services


@pytest.mark.parametrize(
    ("executor", "expected"),
    [
        ("LocalExecutor", {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__API__PORT": "8123",
                           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://127.0.0.1:8123/execution/",
                           "AIRFLOW__API__BASE_URL": "http://127.0.0.1:8123", "AIRFLOW__API__HOST": "127.0.0.1",
                           "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
                           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}),
        ("CeleryExecutor", {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                            "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:6390/0",
                            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "meridian.services.worker_hostname"}),
    ],
)
def test_services_env(test_env, executor, expected):
    env = services.services_env(executor, port=8123, redis_port=6390, base={})
    assert {key: env.get(key) for key in expected} == expected
    metadata = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert metadata.startswith("postgresql+psycopg2://postgres:")
    assert metadata.endswith(f"@127.0.0.1:{test_env['MERIDIAN_PG_PORT']}/airflow")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == services.services_env(executor, base={})["AIRFLOW__API_AUTH__JWT_SECRET"]
    if executor == "CeleryExecutor":
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == metadata.replace("postgresql+psycopg2://", "db+postgresql://")


def test_services_env_keeps_what_is_set_and_can_turn_scheduling_off(test_env):
    base = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://u:p@db/airflow",
            "AIRFLOW__CORE__PARALLELISM": "16"}
    env = services.services_env(base=base, schedule=False)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://u:p@db/airflow"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "16"
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"


def test_unknown_executor_is_named():
    with pytest.raises(ValueError, match="'KubernetesExecutor'.*LocalExecutor, CeleryExecutor"):
        services.services_env("KubernetesExecutor", base={})


def test_password_file_is_private_generated_once_or_explicit(tmp_path, monkeypatch):
    monkeypatch.delenv("MERIDIAN_AIRFLOW_PASSWORD", raising=False)
    path = services._write_password_file(tmp_path)
    generated = json.loads(path.read_text())["admin"]
    assert len(generated) >= 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(services._write_password_file(tmp_path).read_text())["admin"] == generated
    monkeypatch.setenv("MERIDIAN_AIRFLOW_PASSWORD", "chosen-password")
    assert json.loads(services._write_password_file(tmp_path).read_text())["admin"] == "chosen-password"


def test_worker_hostname_names_the_worker(monkeypatch):
    monkeypatch.setenv("MERIDIAN_WORKER_NAME", "worker2")
    assert services.worker_hostname().startswith("worker2@")


def test_embedded_server_holds_the_airflow_metadata_database(warehouse_server):
    from meridian.config import airflow_metadata_uri

    uri = airflow_metadata_uri().replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(uri) as conn, conn.cursor() as cur:
        cur.execute("select current_database()")
        assert cur.fetchone()[0] == "airflow"
