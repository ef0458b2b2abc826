"""A bare ``dbt build`` (every model, seed, data test and unit test) on the generated data.

Runs after the DAG runs of the ``pipeline`` fixture, on the same warehouse and
as-of date: it must pass, and give exactly the marts the DAGs built.
"""

from __future__ import annotations

import json

import pytest

from meridian.airflow_env import run_dbt
from meridian.config import settings
from tests.e2e.conftest import snapshot_schema

pytestmark = pytest.mark.e2e


def test_dbt_build_passes_and_matches_the_dag_run(pipeline):
    as_of = pipeline["as_of"]
    result = run_dbt(["build", "--vars", f"{{as_of_date: '{as_of}'}}"], env=pipeline["env"], check=False)
    assert result.returncode == 0, "dbt build failed; see the output above"
    run_results = json.loads((settings().dbt_project_dir / "target" / "run_results.json").read_text())
    statuses = {}
    for node in run_results["results"]:
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
        if node["status"] == "no-op":  # exposures have nothing to run
            assert node["unique_id"].startswith("exposure."), node["unique_id"]
    assert set(statuses) <= {"success", "pass", "no-op"}, statuses
    assert statuses.get("success", 0) >= 80 and statuses.get("pass", 0) >= 400, statuses
    unit_tests = [node for node in run_results["results"] if node["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) >= 20, f"only {len(unit_tests)} unit tests ran"
    assert snapshot_schema("marts") == pipeline["marts"]
