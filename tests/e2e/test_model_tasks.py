"""The task per dbt model of transform_warehouse in the runs of the ``pipeline`` fixture (``airflow dags test``).

Every model's task ran and succeeded in each transform run, reporting the
producer's one build (no model built twice), and the lineage the DAG file reads
from the SQL files holds every edge of dbt's own manifest.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from meridian.config import settings
from meridian.transform.dbt_run import target_dir
from meridian.transform.model_graph import read_models
from tests.e2e.conftest import query

pytestmark = pytest.mark.e2e


def test_the_lineage_of_the_model_tasks_holds_every_edge_of_dbts_manifest(pipeline):
    manifest = json.loads((target_dir() / "manifest.json").read_text())
    nodes = manifest["nodes"]
    dbt_edges = {
        (parent.split(".")[-1], node["name"])
        for node in nodes.values() if node["resource_type"] == "model"
        for parent in node["depends_on"]["nodes"] if parent.startswith("model.")
    }
    models = read_models(settings().dbt_project_dir)
    assert set(models) == {node["name"] for node in nodes.values() if node["resource_type"] == "model"}
    ours = {(parent, name) for name, model in models.items() for parent in model.parents}
    assert dbt_edges <= ours, f"edges dbt has and the DAG misses: {sorted(dbt_edges - ours)}"
    # a ref built in Jinja may add an edge dbt does not have (the order stays right); no more than a few
    assert len(ours - dbt_edges) <= 3, sorted(ours - dbt_edges)


def test_every_model_task_succeeded_with_the_producers_report(pipeline):
    models = set(read_models(settings().dbt_project_dir))
    database = Path(pipeline["env"]["AIRFLOW_HOME"]) / "airflow.db"
    with sqlite3.connect(database) as conn:
        runs = [row[0] for row in conn.execute(
            "select run_id from dag_run where dag_id = 'transform_warehouse' order by id")]
        # `airflow dags test` keeps one run per logical date: the full refresh replaced the last day's run
        assert len(runs) >= 2
        for run_id in runs:
            states = dict(conn.execute(
                "select task_id, state from task_instance where dag_id = 'transform_warehouse' and run_id = ?",
                (run_id,)).fetchall())
            assert models <= set(states), sorted(models - set(states))
            assert {states[model] for model in models} == {"success"}, {
                model: states[model] for model in models if states[model] != "success"}
            reports = query("select model, status, consumed_try from audit.dbt_model_reports where run_id = %s",
                            (run_id,))
            assert {row["model"] for row in reports} == models
            assert {row["consumed_try"] for row in reports} == {1}  # each task took the build's report
            assert {row["status"] for row in reports} <= {"success", "not selected"}
