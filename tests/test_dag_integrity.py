"""DAG integrity: every DAG file imports, follows the house rules, and touches no database at import."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
EXPECTED_DAGS = {"extract_sources", "transform_warehouse", "deliver_reports"}


class NetworkAtImport(AssertionError):
    pass


@pytest.fixture(scope="module")
def dagbag(test_env, monkeypatch_module):
    """Load dags/ with every way to reach a database or socket disabled."""
    import psycopg2

    def refuse(*args, **kwargs):
        raise NetworkAtImport(f"a DAG file opened a connection at import time: {args!r}")

    monkeypatch_module.setattr(psycopg2, "connect", refuse)
    monkeypatch_module.setattr(socket, "create_connection", refuse)
    monkeypatch_module.setattr(socket.socket, "connect", refuse)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dagbag.import_errors.items())


def test_expected_dags_present(dagbag):
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


def test_one_dag_per_file_named_like_the_file(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id, f"{dag_id} lives in {dag.fileloc}"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_house_rules(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.tags and "meridian" in dag.tags, f"{dag_id} needs tags including 'meridian'"
    assert dag.doc_md and len(dag.doc_md) > 100, f"{dag_id} needs doc_md"
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "meridian", f"{dag_id}.{task.task_id} owner is {task.owner!r}"
        assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_dags_are_chained_by_assets(dagbag):
    from meridian.assets import MARTS_ASSET, RAW_ASSET

    extract = dagbag.dags["extract_sources"]
    outlets = {outlet.uri for task in extract.tasks for outlet in task.outlets}
    assert RAW_ASSET.uri in outlets
    transform = dagbag.dags["transform_warehouse"]
    assert RAW_ASSET.uri in repr(transform.timetable.asset_condition)
    outlets = {outlet.uri for task in transform.tasks for outlet in task.outlets}
    assert MARTS_ASSET.uri in outlets
    deliver = dagbag.dags["deliver_reports"]
    assert MARTS_ASSET.uri in repr(deliver.timetable.asset_condition)


def test_transform_renders_every_dbt_model_as_a_task(dagbag):
    import json

    from meridian.dbt_config import manifest_path

    manifest = json.loads(manifest_path().read_text())
    models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    task_ids = {task.task_id for task in dagbag.dags["transform_warehouse"].tasks}
    missing = [name for name in models if not any(task_id.startswith(f"dbt.{name}") for task_id in task_ids)]
    assert models and not missing, f"models without a task: {missing}"


def test_tests_over_several_models_run_after_all_of_them(dagbag):
    """A test reading several models gets its own task, downstream of every parent's build task."""
    import json

    from meridian.dbt_config import manifest_path

    manifest = json.loads(manifest_path().read_text())
    dag = dagbag.dags["transform_warehouse"]
    tasks = {task.task_id: task for task in dag.tasks}
    multi_parent = [
        node for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and len({dep for dep in node["depends_on"]["nodes"] if dep.startswith("model.")}) > 1
    ]
    assert multi_parent, "expected cross-model tests (tests/assert_*.sql)"
    for node in multi_parent:
        task = tasks.get(f"dbt.{node['name']}_test")
        assert task is not None, f"no task of its own for {node['name']}"
        upstream = task.get_flat_relative_ids(upstream=True)
        for dep in node["depends_on"]["nodes"]:
            if dep.startswith("model."):
                model = dep.split(".")[-1]
                assert f"dbt.{model}_model_build" in upstream or f"dbt.{model}_run" in upstream, (
                    f"{node['name']} can run before {model} is built"
                )
