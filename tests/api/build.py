"""A small real warehouse for the API tests: generated sources, extracted, one ``dbt run``.

Two tenants (acme in USD, globex in EUR) of a small generated dataset go through
the real extraction and the real dbt models into the marts, in an embedded
PostgreSQL of the test module's own (every connection id points at it). A row
of ``audit.transform_runs`` records the build as the pipeline does.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from tests.conftest import private_stack

SEED = 20261205
SIZE = {"tenants": 2, "users": 240, "days": 70}
CONN_IDS = ("warehouse", "source_app", "source_billing", "source_crm", "source_games")


@contextmanager
def api_warehouse(prefix: str = "meridian-api-test-") -> Iterator[dict]:
    """Start a private embedded PostgreSQL, fill it, yield what the tests need; stop it after."""
    from meridian.config import settings

    with private_stack(prefix) as base:
        yield {"base": base, "port": settings().pg_port, **build(base)}


def build(base: Path) -> dict:
    from meridian import db
    from meridian.airflow_env import airflow_env, venv_bin
    from meridian.config import settings
    from meridian.demo.generate import generate
    from meridian.extract.run import extract_source_table, load_event_files, prepare_warehouse
    from meridian.sources.schema import TABLES
    from meridian.transform.plan import TRANSFORM_RUNS_DDL
    from tests.e2e.conftest import read_event_file_lines, read_source_rows

    summary = generate(seed=SEED, progress=False, **SIZE)
    as_of: date = summary.end_date
    sources = read_source_rows()
    file_lines = read_event_file_lines(settings().landing_dir)
    prepare_warehouse()
    for spec in TABLES:
        extract_source_table(spec.source, spec.name, as_of)
    load_event_files(as_of)
    env = airflow_env()
    env["DBT_TARGET_PATH"] = str(base / "dbt-target")
    env["DBT_LOG_PATH"] = str(base / "dbt-logs")
    cfg = settings()
    command = [venv_bin("dbt"), "build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", "--vars", json.dumps({"as_of_date": as_of.isoformat()}),
               "--project-dir", str(cfg.dbt_project_dir), "--profiles-dir", str(cfg.dbt_project_dir)]
    result = subprocess.run(command, env=env, cwd=cfg.dbt_project_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise RuntimeError(f"dbt run failed ({result.returncode}):\n{tail}")
    invocation = f"api-test:{uuid.uuid4().hex[:12]}"
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(TRANSFORM_RUNS_DDL)
        cur.execute(
            "insert into audit.transform_runs (invocation_id, run_id, as_of_date, full_refresh, reason, "
            "late_arrival_days, status, ended_at) values (%s, 'api-test', %s, true, 'test build', 3, 'success', "
            "clock_timestamp())",
            (invocation, as_of),
        )
    return {"as_of": as_of, "tenants": list(summary.tenants), "sources": sources, "file_lines": file_lines}


if __name__ == "__main__":  # time the build by hand: python -m tests.api.build
    import time

    started = time.monotonic()
    os.environ.setdefault("MERIDIAN_HOME", str(Path(__file__).resolve().parents[2]))
    with api_warehouse() as built:
        print(built["as_of"], built["tenants"], f"{time.monotonic() - started:.1f}s")
        subprocess.run(["sleep", "0"], check=True)
