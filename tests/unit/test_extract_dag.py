"""extract_sources when one table fails: the others load, the raw asset is emitted, the run shows failed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from meridian import db
from tests.unit.test_extract import clean_databases  # noqa: F401 - the fixture

DAG_FILE = "extract_sources"


@pytest.fixture(scope="module")
def extract_dag(test_env):
    from airflow.dag_processing.dagbag import DagBag

    from meridian.config import settings

    bag = DagBag(dag_folder=str(settings().root / "dags" / f"{DAG_FILE}.py"))
    assert bag.import_errors == {}
    return bag.dags[DAG_FILE]


def test_publish_raw_waits_for_every_load_and_needs_one_success(extract_dag):
    tasks = {task.task_id: task for task in extract_dag.tasks}
    loads = {task_id for task_id in tasks if task_id.startswith("extract_") or task_id == "load_event_files"}
    # one task per source database; extract_app loads the event files beside the app tables
    assert loads == {"extract_app", "extract_billing", "extract_crm", "extract_games"}
    assert tasks["publish_raw"].trigger_rule == "all_done_min_one_success"
    assert tasks["publish_raw"].upstream_task_ids == loads
    # the only other leaf: runs (and fails) when a load failed, so the run is marked failed
    assert tasks["check_extracts"].trigger_rule == "one_failed"
    assert tasks["check_extracts"].upstream_task_ids == loads
    assert {task.task_id for task in extract_dag.leaves} == {"publish_raw", "check_extracts"}


def test_the_failed_loads_are_named_with_their_errors(clean_databases):  # noqa: F811 - the fixture
    from meridian.extract.run import failed_loads_error

    rows = [
        ("extract_app__users", 1, "failed", "first try"),
        ("extract_app__users", 2, "failed", "MissingRequiredColumns: app.users: required column signup_at is missing"),
        ("extract_app__events", 1, "up_for_retry", "a blip"),
        ("extract_app__events", 2, "success", None),
        ("publish_raw", 1, "success", None),
    ]
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for task_id, try_number, state, error in rows:
            cur.execute(
                "insert into audit.pipeline_runs (dag_id, run_id, task_id, try_number, started_at, state, error) "
                "values ('extract_sources', 'r1', %s, %s, now(), %s, %s)",
                (task_id, try_number, state, error),
            )
    message = str(failed_loads_error("r1"))
    assert message.startswith("1 load(s) of extract_sources run r1 failed")
    assert "- extract_app__users: MissingRequiredColumns: app.users: required column signup_at is missing" in message
    assert "extract_app__events" not in message
    assert "extract_sources run r2 failed" in str(failed_loads_error("r2"))  # nothing recorded: still an error


@pytest.mark.e2e
def test_a_table_missing_a_required_column_fails_alone(clean_databases, tmp_path):  # noqa: F811 - the fixture
    """A real ``airflow dags test``: users lacks signup_at; every other table loads and the asset is emitted.

    app.users fails inside the extract_app task beside app.events and app.organizations: they commit, the
    task fails naming app.users, and only app.users stays without a watermark.
    """
    from meridian.airflow_env import airflow_env, run_airflow

    with db.connection("source_app") as conn, conn.cursor() as cur:
        cur.execute("alter table public.users drop column signup_at")
        cur.execute("insert into public.events (id, tenant_id, event_type, occurred_at, received_at) "
                    "values ('e1', 't1', 'app_open', '2024-01-01T10:00:00Z', '2024-01-01T10:00:01Z')")
    env = airflow_env()
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    env["MERIDIAN_LANDING_DIR"] = str(tmp_path / "landing")
    (tmp_path / "landing").mkdir()
    run_airflow(["db", "migrate"], env=env, capture=tmp_path / "migrate.log")
    run_airflow(["dags", "test", DAG_FILE, date(2024, 1, 2).isoformat()], env=env, check=False,
                capture=tmp_path / "run.log")
    log = (tmp_path / "run.log").read_text(errors="replace")
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select task_id, state from audit.pipeline_runs where dag_id = %s "
                    "and (task_id, try_number) in (select task_id, max(try_number) from audit.pipeline_runs "
                    "group by task_id)", (DAG_FILE,))
        states = dict(cur.fetchall())
        cur.execute("select id from raw.app__events")
        events = cur.fetchall()
        cur.execute("select source || '.' || table_name from audit.watermarks")
        watermarked = {row[0] for row in cur.fetchall()}
    assert states.pop("extract_app") == "failed", log[-3000:]
    assert states.pop("check_extracts") == "failed"
    assert states.pop("publish_raw") == "success"
    # prepare, the three other sources
    assert set(states.values()) == {"success"} and len(states) == 4, states
    assert events == [("e1",)]
    from meridian.sources.schema import TABLES

    assert watermarked == {table.qualified for table in TABLES} - {"app.users"}
    assert "required column signup_at is missing" in log
    assert "1 of 3 tables of source 'app' failed" in log and "- app.users: " in log
    assert "1 load(s) of extract_sources run" in log and "- extract_app: " in log
    assert re.search(r"DagRun Finished: .*, state=failed,", log), log[-3000:]
