"""What a model task does with its model's report (meridian.transform.model_tasks): read it, take it, end.

Shared by the two ways a model task runs, the trigger in the triggerer
(meridian.transform.model_trigger) and ``execute`` in one process: the
warehouse reads and claims of a report, :func:`conclude` (the model's dbt
lines, its alert mail, how the task ends), the rebuild of a later try
(``dbt build --select <model>`` alone, recorded like the producer's), and
:func:`waiting_verdict` for a task whose try has no report to take yet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from meridian.transform.model_producer import ENDED, FAILED, SKIPPED, ProducerState
from meridian.transform.model_reports import NOT_SELECTED, ModelReport, StoredReport, build_reports

PRODUCER_TASK_ID = "build_models"
# a model task waits at most this long (or its execution_timeout) for the producer to start
WAIT_TIMEOUT = timedelta(hours=12)


@dataclass(frozen=True)
class Outcome:
    state: str  # success, failed, skipped (rebuild: a verdict of waiting_verdict)
    message: str


def _conn_id() -> str:
    from meridian.config import WAREHOUSE_CONN_ID

    return WAREHOUSE_CONN_ID


def fetch_report(run_id: str, model: str) -> StoredReport | None:
    from meridian import db
    from meridian.transform.model_reports import latest_report

    with db.connection(_conn_id()) as conn:
        return latest_report(conn, run_id, model)


def fetch_producer(run_id: str) -> ProducerState | None:
    from meridian import db
    from meridian.transform.model_producer import read_state

    with db.connection(_conn_id()) as conn:
        return read_state(conn, run_id)


def claim(run_id: str, model: str, stored: StoredReport, try_number: int) -> bool:
    from meridian import db
    from meridian.transform.model_reports import consume

    with db.connection(_conn_id()) as conn:
        return consume(conn, run_id, model, stored.invocation_id, try_number)


def conclude(report: ModelReport, as_of: date | None, run_id: str, emit: Callable[[str], None]) -> Outcome:
    """Print the model's dbt lines, mail its failures' alerts once, and say how the task ends."""
    from meridian import db
    from meridian.transform.model_reports import notify_model_alerts, task_url

    if report.log:
        # one log entry for all the lines: the triggerer ends ~90 tasks at once, and each entry it logs
        # costs it milliseconds (~20 entries a model cost it seconds)
        emit(report.log)
    if report.status == NOT_SELECTED:
        return Outcome("success", f"{report.model}: not selected by this run's plan; nothing to build")
    if report.skipped:
        return Outcome("skipped", f"{report.model}: skipped by dbt (an upstream node failed); "
                                  "retry it once the upstream model's task succeeds")
    tests = f"{len(report.tests)} data test(s)"
    if not report.failed:
        warned = [test["name"] for test in report.tests if test["status"] == "warn"]
        return Outcome("success", f"{report.model}: {report.status}, {tests} passed"
                                  f"{'; warnings: ' + ', '.join(warned) if warned else ''}")
    failures = report.failures()
    from meridian.smtp import SendError, SmtpConfigError

    try:
        with db.connection(_conn_id()) as conn:
            mailed = notify_model_alerts(conn, report, as_of)
        emit(f"alerts mailed: {mailed} (already mailed ones are not sent again)")
    except (SendError, SmtpConfigError, OSError) as error:
        # the task fails anyway; the alert rows stay unnotified and the next mailing sends them
        emit(f"the alert mail could not be sent: {type(error).__name__}: {error}")
    return Outcome("failed", f"dbt {report.model} failed ({task_url(run_id, report.model)}): {'; '.join(failures)}")


def rebuild_command(model: str, stored: StoredReport, target: Path) -> list[str]:
    """``dbt build --select <model>`` with the run's vars, as the producer built it."""
    from meridian.airflow_env import venv_bin
    from meridian.config import settings

    project = str(settings().dbt_project_dir)
    command = [venv_bin("dbt"), "--no-use-colors", "build", "--select", model, "--exclude-resource-type", "unit_test",
               "--vars", json.dumps(stored.dbt_vars), "--project-dir", project, "--profiles-dir", project,
               "--target-path", str(target)]
    if stored.full_refresh:
        command.append("--full-refresh")
    return command


def prepare_rebuild(model: str) -> tuple[Path, dict[str, str]]:
    """A target folder of its own (seeded with the pipeline's partial parse) and dbt's environment."""
    from meridian.transform.dbt_run import profile_env, target_dir

    target = target_dir().parent / "rebuilds" / f"{model}-{uuid.uuid4().hex[:8]}"
    target.mkdir(parents=True, exist_ok=True)
    partial = target_dir() / "partial_parse.msgpack"
    if partial.exists():
        shutil.copyfile(partial, target / "partial_parse.msgpack")
    return target, {**os.environ, **profile_env(_conn_id())}


def finish_rebuild(model: str, stored: StoredReport, target: Path, output: list[str], run_id: str,
                   try_number: int) -> ModelReport:
    """Record a rebuild's results and alerts like the producer's; its report, consumed by this try."""
    from meridian import db
    from meridian.quality.dbt_results import record_dbt_artifact
    from meridian.transform.model_reports import alert_links, write_reports

    results_file, manifest_file = target / "run_results.json", target / "manifest.json"
    if not results_file.exists() or not manifest_file.exists():
        tail = "\n".join(output[-20:])
        return ModelReport(model=model, unique_id=stored.report.unique_id, status="error",
                           message=f"dbt build --select {model} wrote no results to {target}:\n{tail}",
                           log="\n".join(output))
    run_results = json.loads(results_file.read_text())
    manifest = json.loads(manifest_file.read_text())
    record_dbt_artifact(run_results, run_id=run_id, as_of=stored.as_of, command=f"build --select {model}",
                        manifest=manifest, links=alert_links(manifest, run_id))
    report = build_reports(manifest, run_results, {})[model]
    report.log = "\n".join(output)
    with db.connection(_conn_id()) as conn:
        write_reports(conn, [report], run_id=run_id, invocation_id=f"{run_id}:rebuild:{uuid.uuid4().hex[:12]}",
                      as_of=stored.as_of, full_refresh=stored.full_refresh, dbt_vars=stored.dbt_vars,
                      consumed_try=try_number)
    shutil.rmtree(target, ignore_errors=True)
    return report


def rebuild_sync(model: str, stored: StoredReport, run_id: str, try_number: int,
                 emit: Callable[[str], None]) -> ModelReport:
    target, env = prepare_rebuild(model)
    command = rebuild_command(model, stored, target)
    emit(f"try {try_number}: building {model} again alone: dbt {' '.join(command[2:])}")
    output = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=command[command.index("--project-dir") + 1]) as process:
        for line in process.stdout:
            output.append(line.rstrip())
            emit(line.rstrip())
    return finish_rebuild(model, stored, target, output, run_id, try_number)



def waiting_verdict(model: str, run_id: str, producer_task_id: str, producer: ProducerState | None,
                    upstream_failed: str | None, has_report: bool, waited: float, limit: float) -> Outcome | None:
    """How a model task whose try has no report to take goes on: None (wait), ``rebuild``, or its end.

    From the warehouse only (meridian.transform.model_producer): the producer's row of the run, the
    failure of a task upstream of it, whether the model has a report of an earlier try, how long this
    task waited (``waited`` of at most ``limit`` seconds while the producer has not started).
    """
    name = producer_task_id
    if producer is None:
        if upstream_failed:
            return Outcome("failed", f"{model}: {name} never ran in run {run_id}: {upstream_failed}; "
                                     f"clear {name} and this task once that is fixed")
        if waited >= limit:
            return Outcome("failed", f"{model}: {name} has not started in run {run_id} within "
                                     f"{timedelta(seconds=round(limit))} of this task's start; see the run's "
                                     f"tasks, and clear this task once {name} has run")
        return None
    if producer.state not in ENDED:
        if not producer.overdue:
            return None
        return Outcome("failed", f"{model}: {name} {producer.describe()} wrote no end state by its deadline "
                                 f"{producer.deadline_at:%Y-%m-%d %H:%M:%S %Z} (its execution_timeout, plus the "
                                 f"time Airflow takes to notice a dead try and start the next): its process "
                                 f"probably died (a killed worker); see {name}'s log, and clear this task once "
                                 f"{name} has run")
    if has_report:
        return Outcome("rebuild", f"{model}: a later try builds the model again alone")
    if producer.state == SKIPPED:
        return Outcome("skipped", f"{model}: {name} was skipped in run {run_id} ({producer.message}); nothing built")
    if producer.state == FAILED:
        return Outcome("failed", f"{model}: {name} {producer.describe()} failed before building any model: "
                                 f"{producer.message}; see its log")
    return Outcome("failed", f"{model}: {name} reported run {run_id} but wrote no report of {model} "
                             f"(a model added after the run's build?); see {name}'s log")
