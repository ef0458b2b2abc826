"""One try of a DAG's tasks in a process of its own, for the fault-injection test to SIGKILL.

``python -m tests.e2e.fault_runner STAGE --as-of INSTANT --try N [options]``
runs, in order, what the DAG's tasks run (the functions the thin DAGs call,
with the same arguments), each between the task callbacks Airflow's task
runner calls (``on_execute_callback``, then ``on_success_callback`` or
``on_failure_callback``), so audit.pipeline_runs gets one row per task try as
in Airflow; a kill leaves that row ``running`` until a later try marks it:

- ``extract`` (``extract_sources``): prepare_warehouse, one extract task per
  source table, load_event_files;
- ``transform`` (``transform_warehouse``): plan_transform, build_models,
  reconcile_batches (check_data_quality, which mails alerts, and
  generate_docs do not change the marts);
- ``deliver`` (``deliver_reports``): ensure_reporting_schema, deliver_due_reports.

``--kill-before-archive K`` kills the process (SIGKILL) when load_event_files
is about to move its K-th event file to ``archive/``: after the file's batch
committed, before the move. ``--without-data-tests`` leaves dbt's data tests
out of build_models (they read the models, never write them: the marts are
the same, the build takes about half the time).
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from meridian.quality.pipeline_runs import pipeline_run_callbacks

DAG_IDS = {"extract": "extract_sources", "transform": "transform_warehouse", "deliver": "deliver_reports"}


def run_id_for(as_of: str) -> str:
    return f"manual__{as_of}"


class TaskRunner:
    """Calls a task function between the pipeline_runs callbacks, like Airflow's task runner."""

    def __init__(self, dag_id: str, as_of: str, try_number: int, full_refresh: bool) -> None:
        self.dag_id = dag_id
        self.try_number = try_number
        self.run_id = run_id_for(as_of)
        self.callbacks = pipeline_run_callbacks()
        self.context: dict[str, Any] = {
            "dag_run": SimpleNamespace(conf={"as_of": as_of}, run_id=self.run_id),
            "params": {"full_refresh": full_refresh},
            "run_id": self.run_id,
        }

    def run(self, task_id: str, function: Callable[[], Any]) -> Any:
        ti = _TaskInstance(self.dag_id, self.run_id, task_id, self.try_number)
        context = {**self.context, "ti": ti}
        self.callbacks["on_execute_callback"](context)
        try:
            ti.returned = function()
        except BaseException as exc:
            ti.end_date = datetime.now(UTC)
            self.callbacks["on_failure_callback"]({**context, "exception": exc})
            raise
        ti.end_date = datetime.now(UTC)
        self.callbacks["on_success_callback"](context)
        return ti.returned


class _TaskInstance(SimpleNamespace):
    def __init__(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> None:
        super().__init__(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1, try_number=try_number,
                         start_date=datetime.now(UTC), end_date=None, returned=None)

    def xcom_pull(self, task_ids: str, key: str, **kwargs: Any) -> Any:
        return self.returned


def extract(runner: TaskRunner) -> None:
    from meridian.extract.run import extract_source, load_event_files, prepare_warehouse
    from meridian.runtime import as_of_instant
    from meridian.sources.schema import TABLES

    as_of = as_of_instant(runner.context)
    runner.run("prepare_warehouse", prepare_warehouse)
    for source in dict.fromkeys(table.source for table in TABLES):  # the DAG's tasks: one per source
        runner.run(f"extract_{source}", lambda source=source: extract_source(source, as_of))
    runner.run("load_event_files", lambda: load_event_files(as_of))


def transform(runner: TaskRunner) -> None:
    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID
    from meridian.extract.run import prepare_warehouse
    from meridian.quality.batches import reconcile_batches
    from meridian.runtime import as_of_instant
    from meridian.transform.dbt_run import build_warehouse
    from meridian.transform.plan import RunPlan, plan_run

    def plan_transform() -> dict:
        prepare_warehouse()
        with db.connection(WAREHOUSE_CONN_ID) as conn:
            plan = plan_run(conn, as_of_instant(runner.context),
                            requested_full_refresh=bool(runner.context["params"]["full_refresh"]))
        return plan.as_dict()

    plan = runner.run("plan_transform", plan_transform)
    runner.run("build_models", lambda: build_warehouse(RunPlan.from_dict(plan), run_id=runner.run_id))
    runner.run("reconcile_batches", lambda: reconcile_batches(RunPlan.from_dict(plan).as_of_at))


def deliver(runner: TaskRunner) -> None:
    from meridian.db import connection
    from meridian.delivery.deliver import deliver_due_reports, summarize
    from meridian.delivery.schema import ensure_delivery_schema
    from meridian.runtime import as_of_instant

    def ensure_reporting_schema() -> None:
        with connection("warehouse") as conn:
            ensure_delivery_schema(conn)

    now = as_of_instant(runner.context)
    runner.run("ensure_reporting_schema", ensure_reporting_schema)
    summary = runner.run("deliver_due_reports",
                         lambda: summarize(deliver_due_reports(now, smtp_backoff_seconds=0)))
    if summary["retryable_failures"]:
        raise RuntimeError(f"deliveries failed: {summary['failures']}")


def without_data_tests() -> None:
    """build_models builds the same models and snapshots, without running the data tests."""
    import meridian.transform.dbt_run as dbt_run

    build_args = dbt_run.build_args
    dbt_run.build_args = lambda plan: [*build_args(plan), "--exclude-resource-type", "test"]


def kill_before_archive(k: int) -> None:
    """SIGKILL this process when the K-th event file is about to be archived (its batch has committed)."""
    import meridian.extract.event_files as event_files

    move = event_files._move
    calls = {"n": 0}

    def archive_or_die(path: Any, target_dir: Any, checksum: Any) -> Any:
        if target_dir.name == "archive":  # a loaded file (its batch committed) about to be archived
            calls["n"] += 1
            if calls["n"] == k:
                os.killpg(os.getpgid(0), signal.SIGKILL)
        return move(path, target_dir, checksum)

    event_files._move = archive_or_die


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=sorted(DAG_IDS))
    parser.add_argument("--as-of", required=True, help="the as-of instant (conf as_of)")
    parser.add_argument("--try", dest="try_number", type=int, required=True)
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--kill-before-archive", type=int, default=0)
    parser.add_argument("--without-data-tests", action="store_true")
    args = parser.parse_args(argv)
    if args.without_data_tests:
        without_data_tests()
    if args.kill_before_archive:
        kill_before_archive(args.kill_before_archive)
    runner = TaskRunner(DAG_IDS[args.stage], args.as_of, args.try_number, args.full_refresh)
    {"extract": extract, "transform": transform, "deliver": deliver}[args.stage](runner)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
