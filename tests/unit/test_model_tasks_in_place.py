"""Under ``airflow dags test`` the producer ends its model tasks itself: states, log files and the time it takes.

A DAG of its own (a producer and 89 model tasks, as many as dbt_project has, in
chains like the project's lineage) runs with ``airflow dags test`` in a
throwaway AIRFLOW_HOME (SQLite metadata, like the demo and the bench) over a
private warehouse, twice: every model succeeded (the figure), then one
failed, one skipped by dbt, one not selected. The producer writes a report
per model and calls
:func:`meridian.transform.model_tasks.finish_in_place`, which ends every
model task in one metadata transaction and writes their log files in one
pass. Each task then has its state, its try, its log file with the model's
lines and its last line, and its report is taken by try 1; the time the
producer spent ending them is logged (``model tasks ended here ... in N s``)
and kept in ``out/test-artifacts/model-tasks-in-place.json``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from meridian import db
from meridian.airflow_env import airflow_env, run_airflow
from meridian.config import settings
from meridian.extract.run import prepare_warehouse
from meridian.transform.model_tasks import DEFAULT_LOG_TEMPLATE, log_file_name
from tests.conftest import private_warehouse

pytestmark = pytest.mark.e2e
MODELS = 89

DAG = '''
import logging
from datetime import datetime

from airflow.sdk import dag, get_current_context, task

from meridian.transform.model_graph import Model
from meridian.transform.model_tasks import add_model_tasks

N = {models}
NAMES = [f"m{{i:03d}}" for i in range(N)]
MODELS = {{name: Model(name, f"models/{{name}}.sql", "staging", (NAMES[i - 1],) if i % 10 else ())
           for i, name in enumerate(NAMES)}}
STATUS = {{"m000": "error", "m001": "skipped", "m002": "not selected"}}


@dag(dag_id="model_tasks_in_place", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def model_tasks_in_place():
    @task
    def build_models() -> None:
        from meridian import db
        from meridian.transform.model_reports import ModelReport, write_reports
        from meridian.transform.model_tasks import finish_in_place

        context = get_current_context()
        run_id = context["run_id"]
        status = STATUS if context["dag_run"].conf.get("failures") else {{}}
        reports = {{
            name: ModelReport(
                model=name, unique_id=f"model.x.{{name}}", status=status.get(name, "success"),
                message="division by zero" if name == "m000" else None,
                log="\\n".join(f"21:00:{{i:02d}}  {{i}} of 131 OK created sql table model marts.{{name}} "
                              f"[SELECT {{i}} in 0.1s]" for i in range(12)))
            for name in NAMES
        }}
        with db.connection("warehouse") as conn:
            write_reports(conn, reports.values(), run_id=run_id, invocation_id=f"in-place-{{run_id}}", as_of=None,
                          full_refresh=False, dbt_vars={{}})
        logging.getLogger("in_place").info("ending the model tasks here")
        finish_in_place("model_tasks_in_place", run_id, reports, None)

    add_model_tasks(build_models(), [], MODELS, one_process=True)


model_tasks_in_place()
'''


def test_the_producer_ends_its_model_tasks_in_one_pass(tmp_path: Path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "model_tasks_in_place.py").write_text(DAG.format(models=MODELS))
    with private_warehouse("meridian-in-place-"):
        prepare_warehouse()
        env = airflow_env()
        home = tmp_path / "airflow"
        env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs")})
        logs = tmp_path / "out"
        run_airflow(["db", "migrate"], env=env, capture=logs / "db_migrate.log")
        # every model succeeded (as in an incremental run): the figure; then one failed, one skipped, one not selected
        for date, conf in (("2026-10-30", "{}"), ("2026-10-31", '{"failures": true}')):
            run_airflow(["dags", "test", "model_tasks_in_place", date, "--conf", conf], env=env,
                        capture=logs / f"{date}.log", check=False)
        text = (logs / "2026-10-30.log").read_text()
        ended = re.search(r"(\S+Z) \[info\s*\] ending the model tasks here.*?\n(\S+Z) \[info\s*\] "
                          r"model tasks ended here \(one process\) in [\d.]+ s: \{'success': 89\}", text, re.S)
        assert ended, text[-3000:]
        with sqlite3.connect(home / "airflow.db") as conn:
            runs = dict(conn.execute("select date(logical_date), run_id from dag_run").fetchall())
            for day, expected in (("2026-10-30", {}), ("2026-10-31", {"m000": "failed", "m001": "skipped"})):
                states = dict(conn.execute("select task_id, state from task_instance where run_id = ? "
                                           "and task_id like 'm%'", (runs[day],)).fetchall())
                assert states == {f"m{i:03d}": "success" for i in range(MODELS)} | expected
            tries = {row[0] for row in conn.execute("select try_number from task_instance where task_id like 'm%'")}
            assert tries == {1}
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("select consumed_try, count(*) from audit.dbt_model_reports group by 1")
            assert cur.fetchall() == [(1, 2 * MODELS)]
    expected = {f"m{i:03d}": "success" for i in range(MODELS)} | {"m000": "failed", "m001": "skipped"}
    run_dir = Path(log_file_name(DEFAULT_LOG_TEMPLATE, "model_tasks_in_place", runs["2026-10-31"], "m000", -1,
                                 "", ["", ""])).parent.parent
    files = {path.parent.name: path for path in (home / "logs" / run_dir).rglob("attempt=1.log")}
    for task_id, state in expected.items():
        lines = [json.loads(line) for line in files[f"task_id={task_id}"].read_text().splitlines()]
        assert f"OK created sql table model marts.{task_id}" in lines[0]["event"]
        last = lines[-1]
        assert (last["level"], last["event"].split(":")[0]) == ("error" if state == "failed" else "info",
                                                               "dbt m000 failed (http" if state == "failed"
                                                               else task_id)
    seconds = (datetime.fromisoformat(ended.group(2)) - datetime.fromisoformat(ended.group(1))).total_seconds()
    kept = settings().out_dir / "test-artifacts"
    kept.mkdir(parents=True, exist_ok=True)
    (kept / "model-tasks-in-place.json").write_text(json.dumps(
        {"model_tasks": MODELS, "finish_in_place_s": seconds, "load_average": os.getloadavg()}, indent=2) + "\n")
    print(f"{MODELS} model tasks ended in place in {seconds} s (load average {os.getloadavg()})")
