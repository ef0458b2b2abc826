"""DAG integrity: every DAG file imports, follows the house rules, and touches no database at import."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
EXPECTED_DAGS = {"extract_sources", "transform_warehouse", "deliver_reports", "warehouse_maintenance"}


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


def test_transform_builds_then_checks_then_publishes(dagbag):
    """The plan comes first, dbt builds once, and the marts asset is emitted only after every check."""
    dag = dagbag.dags["transform_warehouse"]
    tasks = {task.task_id: task for task in dag.tasks}
    assert set(tasks) >= {
        "plan_transform", "build_models", "check_data_quality",
        "reconcile_batches", "generate_docs", "publish_marts",
    }

    def upstream(task_id: str) -> set[str]:
        return tasks[task_id].get_flat_relative_ids(upstream=True)

    assert "plan_transform" in upstream("build_models")
    assert "build_models" in upstream("check_data_quality")
    assert "build_models" in upstream("reconcile_batches")
    assert {"build_models", "check_data_quality", "reconcile_batches", "generate_docs"} <= upstream("publish_marts")
    assert "full_refresh" in dag.params


def test_incremental_selector_keeps_every_model_and_the_invariants():
    """selectors.yml: incremental runs build every model; the singular invariants stay in."""
    import yaml

    from meridian.config import settings

    selectors = yaml.safe_load((settings().dbt_project_dir / "selectors.yml").read_text())["selectors"]
    definition = next(item for item in selectors if item["name"] == "incremental_run")["definition"]
    methods = {(part.get("method"), part.get("value")) for part in definition["union"] if "method" in part}
    assert {("resource_type", "model"), ("resource_type", "seed"), ("resource_type", "snapshot"),
            ("test_type", "singular")} <= methods


def test_every_mart_declares_its_grain_as_a_primary_key():
    """Incremental runs rely on the marts' primary keys instead of running their grain tests."""
    import yaml

    from meridian.config import settings

    marts = settings().dbt_project_dir / "models" / "marts"
    declared, models = {}, set()
    for path in marts.rglob("*.sql"):
        models.add(path.stem)
    for path in marts.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            keys = [c for c in model.get("constraints", []) if c.get("type") == "primary_key"]
            if keys:
                declared[model["name"]] = keys[0]["columns"]
    assert models and models == set(declared), f"marts without a primary key: {sorted(models - set(declared))}"


def test_extraction_runs_every_15_minutes_and_any_as_of_builds(dagbag):
    """The default schedule gives as-of instants every 15 minutes; start dates never skip an old as-of."""
    from datetime import UTC, datetime

    extract = dagbag.dags["extract_sources"]
    timetable = extract.timetable
    assert getattr(timetable, "expression", None) or getattr(timetable, "_expression", None), repr(timetable)
    assert (getattr(timetable, "expression", None) or timetable._expression) == "*/15 * * * *"
    for dag_id in ("extract_sources", "transform_warehouse"):
        assert dagbag.dags[dag_id].start_date <= datetime(2000, 1, 1, tzinfo=UTC), dag_id


def test_maintenance_partitions_then_purges_then_vacuums(dagbag):
    dag = dagbag.dags["warehouse_maintenance"]
    tasks = {task.task_id: task for task in dag.tasks}
    assert set(tasks) == {"prepare_warehouse", "partition_raw_events", "purge_raw_events", "vacuum_raw_events"}
    assert "partition_raw_events" in tasks["purge_raw_events"].get_flat_relative_ids(upstream=True)
    assert "purge_raw_events" in tasks["vacuum_raw_events"].get_flat_relative_ids(upstream=True)


def test_a_task_per_dbt_model_following_its_lineage(dagbag):
    """Every model is a task; its upstream tasks are its models' (or the producer); the checks wait for them all."""
    from meridian.config import settings
    from meridian.transform.model_graph import read_models
    from meridian.transform.model_tasks import DbtModelOperator

    dag = dagbag.dags["transform_warehouse"]
    models = read_models(settings().dbt_project_dir)
    tasks = {task.task_id: task for task in dag.tasks}
    assert len(models) >= 80 and set(models) <= set(tasks)
    for name, model in models.items():
        task = tasks[name]
        assert isinstance(task, DbtModelOperator) and task.model == name
        assert task.upstream_task_ids == (set(model.parents) or {"build_models"}), name
        assert task.start_from_trigger and task.retries >= 1
        assert not task.on_success_callback and not task.on_failure_callback  # no dag-processor callback each
    assert set(models) <= tasks["check_data_quality"].upstream_task_ids
    # under the scheduler the model tasks wait for the build together, in the triggerer
    assert {tasks[name].trigger_rule for name in models} == {"always"}
