"""A task per dbt model in ``transform_warehouse``: one ``dbt build`` produces, each model's task reports.

``build_models`` (the producer) runs the run's one ``dbt build``
(:func:`meridian.transform.dbt_run.build_warehouse` with the plan's
``build_args``) and writes a report per model (meridian.transform.model_reports).
Each model has a :class:`DbtModelOperator` task named like the model, whose
dependencies follow dbt's lineage (meridian.transform.model_graph), so the
graph shows it and a model's log, state and retry are its own:

- its log shows the model's dbt lines (start, ``OK created sql table model
  marts.fct_daily_kpis ... [SELECT 1234 in 0.52s]``, errors) and its data tests';
- it fails when the model or one of its tests failed (mailing the alerts of
  those nodes once, with the task's URL), is skipped when dbt skipped the model
  (an upstream node failed), succeeds otherwise (also when the run's plan did
  not select the model);
- a later try (an automatic retry, or the task cleared in the UI) builds the
  model again alone: ``dbt build --select <model>`` with the run's vars (and
  ``--full-refresh`` when the run was one), its results and alerts recorded like
  the producer's.

No worker process per model: the tasks start and end in the triggerer
(``start_from_trigger``; :class:`DbtModelTrigger` ends them with a task end
event). Under the scheduler they start with the run (trigger rule ``always``),
and wait for the producer's reports together: the triggers of a run share one
read every quarter second of the producer's state
(``audit.dbt_model_producers``, meridian.transform.model_producer) and of its
reports, take all their reports in one statement on one connection (per
triggerer process), wake together when a read found them and log one entry
each (the model's dbt lines, then how the task ends) before their end event:
the triggerer closes a task's log file once its trigger ended. They read
everything from the warehouse and make no request to the triggerer's
supervisor (Airflow 3.3's triggerer can deadlock when a trigger's request
meets many log lines); a producer that died without writing its end state
ends them at its deadline (:func:`waiting_verdict`). They yield their events
within about a second of the build; the triggerer then records each task's
end in a metadata transaction of its own (tens of milliseconds each on a
loaded machine), which sets the pace for ~90 tasks (tests/browser keeps the
figures in ``model-task-timing.json``). The lineage edges are the graph's,
not a wait: the build already ran in dbt's order.

``airflow dags test`` (the demo, the bench, the end-to-end tests) runs one
task at a time in one process and never starts a task in the triggerer: there
the producer ends the model tasks itself (:func:`finish_in_place`: their log
files in one pass and their states in one statement, ~0.2 s for 89 tasks),
and a model task it could not end runs after ``build_models`` (trigger rule
``all_done``) and reads its report directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from airflow.sdk import BaseOperator
from airflow.triggers.base import (
    BaseTrigger,
    StartTriggerArgs,
    TaskFailedEvent,
    TaskSkippedEvent,
    TaskSuccessEvent,
    TriggerEvent,
)

from meridian.transform.model_producer import (
    ENDED,
    FAILED,
    PRODUCER_TIMEOUT,
    REPORTED,
    RETRYING,
    SKIPPED,
    START_SLACK,
    ProducerState,
    ProducerTry,
    record_end,
    record_start,
)
from meridian.transform.model_reports import (
    NOT_SELECTED,
    ModelReport,
    StoredReport,
    build_reports,
)

log = logging.getLogger(__name__)

PRODUCER_TASK_ID = "build_models"
POLL_SECONDS = 0.25  # the model triggers of a run read its producer's row and reports together this often
FORGET_SECONDS = 600.0  # a run's cached reports are dropped this long after its last trigger ended
# a model task waits at most this long (or its execution_timeout) for the producer to start
WAIT_TIMEOUT = timedelta(hours=12)


def runs_in_one_process(argv: list[str] | None = None) -> bool:
    """True under ``airflow dags test``: one process runs one task at a time and no triggerer runs."""
    args = sys.argv if argv is None else argv
    return any(Path(arg).name == "airflow" for arg in args[:1]) and args[1:3] == ["dags", "test"]


# -- the producer ------------------------------------------------------------------------------------------


def build_and_report(plan: Any, run_id: str, *, finish_dag_id: str | None = None,
                     producer: ProducerTry | None = None) -> dict[str, Any]:
    """The run's one ``dbt build`` (the plan's build_args), then a report per model for the model tasks.

    Raises DbtBuildError only for failures no model task reports (a seed, a
    snapshot, a test on a source) or when dbt itself could not run; a failed
    model or data test fails the model's task instead. ``producer``: this try
    of the producer (its deadline for the model tasks; meridian.transform.model_producer),
    whose state goes to ``audit.dbt_model_producers``: ``running`` first, then
    ``reported`` with the reports, or how it stopped before them.
    ``finish_dag_id`` (under ``airflow dags test``): end the model tasks of
    that DAG's run here (:func:`finish_in_place`) instead of running each.
    """
    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID
    from meridian.transform.dbt_run import DbtBuildError, build_warehouse, target_dir
    from meridian.transform.model_reports import NodeLines, alert_links, forget_old_reports, write_reports

    this_try = producer or ProducerTry(1, PRODUCER_TIMEOUT, START_SLACK)
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        record_start(conn, run_id, this_try)
    try:
        lines = NodeLines()
        summary = build_warehouse(plan, run_id=run_id, callbacks=[lines],
                                  links=lambda manifest: alert_links(manifest, run_id), raise_on_failure=False)
        target = target_dir()
        manifest_file, results_file = target / "manifest.json", target / "run_results.json"
        if not manifest_file.exists() or not results_file.exists():
            raise DbtBuildError(f"dbt build wrote no manifest or run results to {target}: {summary['failed']}")
        manifest = json.loads(manifest_file.read_text())
        reports = build_reports(manifest, json.loads(results_file.read_text()), lines.lines)
        with db.connection(WAREHOUSE_CONN_ID) as conn:
            forget_old_reports(conn)
            written = write_reports(conn, reports.values(), run_id=run_id, invocation_id=summary["invocation_id"],
                                    as_of=plan.as_of, full_refresh=plan.full_refresh, dbt_vars=plan.dbt_vars())
            record_end(conn, run_id, this_try.try_number, REPORTED)  # with the reports, in their transaction
    except BaseException as error:
        record_stop(run_id, this_try, error)
        raise
    if finish_dag_id:
        try:
            finish_in_place(finish_dag_id, run_id, reports, plan.as_of)
        except Exception:  # noqa: BLE001 - the model tasks then run one by one and report the same
            log.warning("could not end the model tasks here; they run one by one", exc_info=True)
    reported = {node for report in reports.values() for node in report.nodes()}
    unreported = [failure for failure in summary["failed"] if failure.split(" ", 1)[0] not in reported]
    failed_models = sorted(report.model for report in reports.values() if report.failed)
    log.info("reports for %s model tasks; failed: %s", written, ", ".join(failed_models) or "none")
    if unreported:
        raise DbtBuildError(f"dbt build failed for {len(unreported)} node(s) no model task reports: "
                            f"{', '.join(unreported[:20])}")
    return {**summary, "failed_models": failed_models}


def record_stop(run_id: str, this_try: ProducerTry, error: BaseException) -> None:
    """The producer stopped before its reports: skipped, retrying (a later try reports) or failed, with the error."""
    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID

    message = f"{type(error).__name__}: {error}"
    if type(error).__name__ == "AirflowSkipException":
        state, wait = SKIPPED, None
    elif this_try.retry_wait is not None:
        state, wait = RETRYING, this_try.retry_wait + this_try.grace
    else:
        state, wait = FAILED, None
    try:
        with db.connection(WAREHOUSE_CONN_ID) as conn:
            record_end(conn, run_id, this_try.try_number, state, message, wait=wait)
    except Exception:  # noqa: BLE001 - the original error is the one to raise; the model tasks' deadline ends them
        log.warning("could not record %s's %s state for the model tasks", PRODUCER_TASK_ID, state, exc_info=True)


def finish_in_place(dag_id: str, run_id: str, reports: Mapping[str, ModelReport], as_of: date | None) -> dict:
    """End the run's model tasks from the producer, as their first try would: log file, state, alert mail.

    For ``airflow dags test`` only (the metadata database is this process's):
    it runs one task at a time, and starting ~90 tasks in turn costs tens of
    seconds where this costs a small fraction of one: one read of the run's
    waiting task instances, the log file name template rendered for each
    without a query, one pass writing the log files, one statement (an
    executemany by primary key, in one transaction) for all their states,
    then one update taking their reports for try 1. A task whose model has no
    report keeps waiting and runs itself (and fails).
    """
    from airflow.configuration import conf
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    begun = time.perf_counter()
    base = Path(conf.get("logging", "base_log_folder"))
    states: dict[str, str] = {}
    with create_session() as session:
        dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if dag_run is None:
            raise LookupError(f"no run {run_id!r} of DAG {dag_id!r} in the metadata database")
        waiting = session.execute(
            select(TaskInstance.id, TaskInstance.task_id, TaskInstance.map_index).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
                TaskInstance.task_id.in_(list(reports)), TaskInstance.state.is_(None))).all()
        template = dag_run.get_log_template(session=session).filename
        logical = (dag_run.logical_date or dag_run.run_after).isoformat()
        interval = [moment.isoformat() if moment else "" for moment in
                    (dag_run.data_interval_start, dag_run.data_interval_end)]

        def log_file(task_id: str, map_index: int) -> Path:
            return base / log_file_name(template, dag_id, run_id, task_id, map_index, logical, interval)

        started = timezone.utcnow()
        stamp = started.isoformat()
        ended_rows = []
        for ti_id, task_id, map_index in waiting:
            lines: list[tuple[str, str]] = []
            outcome = conclude(reports[task_id], as_of, run_id, lambda line, sink=lines: sink.append(("info", line)))
            lines.append(("error" if outcome.state == "failed" else "info", outcome.message))
            path = log_file(task_id, map_index)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps({"timestamp": stamp, "level": level, "event": event,
                                                "logger": __name__}) + "\n" for level, event in lines))
            states[task_id] = outcome.state
            ended_rows.append({"id": ti_id, "state": outcome.state})
        ended = timezone.utcnow()
        if ended_rows:
            duration = (ended - started).total_seconds()
            session.execute(update(TaskInstance), [
                {**row, "try_number": 1, "start_date": started, "end_date": ended, "duration": duration}
                for row in ended_rows])
    # their first try is over: a later try (a clear) builds the model again
    from meridian import db
    from meridian.transform.model_reports import consume_first

    with db.connection(_conn_id()) as conn:
        consume_first(conn, run_id, list(states))
    counts = {state: list(states.values()).count(state) for state in sorted(set(states.values()))}
    log.info("model tasks ended here (one process) in %.3f s: %s", time.perf_counter() - begun, counts)
    return states


# Airflow's default [logging] log_filename_template: rendered without Jinja (compiling Jinja's lexer alone
# costs ~0.1 s in a process that has not used it yet)
DEFAULT_LOG_TEMPLATE = ("dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/"
                        "{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}"
                        "attempt={{ try_number|default(ti.try_number) }}.log")


def log_file_name(template: str, dag_id: str, run_id: str, task_id: str, map_index: int, logical: str,
                  interval: list[str], try_number: int = 1) -> str:
    """A task try's log file name under the run's template, as Airflow's FileTaskHandler renders it."""
    if template == DEFAULT_LOG_TEMPLATE:
        mapped = f"map_index={map_index}/" if map_index >= 0 else ""
        return f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_number}.log"
    from airflow.utils.helpers import parse_template_string, render_template

    str_tpl, jinja_tpl = parse_template_string(template)
    if jinja_tpl:
        ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index,
                             try_number=try_number)
        return render_template(jinja_tpl, {"ti": ti, "ts": logical, "try_number": try_number}, native=False)
    return str_tpl.format(dag_id=dag_id, task_id=task_id, run_id=run_id, data_interval_start=interval[0],
                          data_interval_end=interval[1], logical_date=logical, try_number=try_number)


# -- what a model task does --------------------------------------------------------------------------------


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


# -- the operator and its trigger --------------------------------------------------------------------------


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


class DbtModelOperator(BaseOperator):
    """One dbt model (with its data tests) of the run's build; see the module doc."""

    ui_color = "#d6ecf3"
    start_from_trigger = True

    def __init__(self, *, model: str, producer_task_id: str = PRODUCER_TASK_ID,
                 producer_upstream: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.producer_task_id = producer_task_id
        limit = self.execution_timeout or WAIT_TIMEOUT
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{DbtModelTrigger.__module__}.{DbtModelTrigger.__qualname__}",
            trigger_kwargs={"model": model, "producer_task_id": producer_task_id,
                            "producer_upstream": list(producer_upstream), "wait_seconds": limit.total_seconds()},
            next_method="execute_complete",
            timeout=WAIT_TIMEOUT,
        )

    def execute(self, context: Any) -> str:
        """Without the triggerer (``airflow dags test``): the same steps, after the producer."""
        from airflow.sdk.exceptions import AirflowException, AirflowSkipException

        ti = context["ti"]
        stored = fetch_report(ti.run_id, self.model)
        if stored is None:
            producer = fetch_producer(ti.run_id)
            said = f" ({producer.state}: {producer.message})" if producer is not None and producer.message else ""
            message = (f"{self.model}: {self.producer_task_id} wrote no report for this run ({ti.run_id}){said}; "
                       f"see the {self.producer_task_id} log")
            if producer is not None and producer.state == SKIPPED:
                raise AirflowSkipException(message)
            raise AirflowException(message)
        if stored.consumed_try == ti.try_number or (
                stored.consumed_try is None and claim(ti.run_id, self.model, stored, ti.try_number)):
            report = stored.report  # this try's report (also when the try restarts after its process died)
        else:
            report = rebuild_sync(self.model, stored, ti.run_id, ti.try_number, self.log.info)
        outcome = conclude(report, stored.as_of, ti.run_id, self.log.info)
        if outcome.state == "failed":
            raise AirflowException(outcome.message)
        if outcome.state == "skipped":
            raise AirflowSkipException(outcome.message)
        self.log.info(outcome.message)
        return report.status

    def execute_complete(self, context: Any, event: Any = None) -> None:
        """Not reached: the trigger ends the task itself."""
        from airflow.sdk.exceptions import AirflowException

        raise AirflowException(f"{self.model}: unexpected resume from the trigger with {event!r}")


class _SharedConnection:
    """One warehouse connection for all the model triggers of this process (the triggerer), one thread at a time.

    ~90 triggers per run each opening a connection to read or take their report cost more than the reports;
    every read and claim of every run goes through this one (autocommit: each statement stands alone). Its
    address is resolved once per process (from ``AIRFLOW_CONN_WAREHOUSE`` where set, as meridian's Airflow
    environment does: then the triggers make no request to the triggerer's supervisor at all).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: Any = None
        self.uri: str | None = None

    def run(self, work: Callable[[Any], Any]) -> Any:
        """``work(conn)`` on the shared connection; reconnects once when the connection broke."""
        import psycopg2

        from meridian import db

        with self.lock:
            for attempt in (1, 2):
                if self.conn is None or self.conn.closed:
                    self.uri = self.uri or db.dsn(_conn_id())
                    self.conn = db.connect(_conn_id(), autocommit=True, uri=self.uri)
                try:
                    return work(self.conn)
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    self.close_locked()
                    if attempt == 2:
                        raise
                    log.warning("the warehouse connection of the model triggers broke; connecting again",
                                exc_info=True)
        raise AssertionError("unreachable")

    def close_locked(self) -> None:
        if self.conn is not None:
            with suppress(Exception):
                self.conn.close()
        self.conn = None


_CONNECTION = _SharedConnection()


@dataclass(frozen=True)
class _RunRead:
    """One read of a run for its model triggers: the producer's row, an upstream failure, the reports."""

    producer: ProducerState | None
    upstream_failed: str | None
    reports: dict[str, StoredReport]


class _RunReports:
    """The newest reports of a run and its producer's state, read for all the run's model triggers at once.

    One refresh per ``poll_seconds`` reads the producer's row, then the run's reports, and takes, in the
    same statement for all of them, the unreported ones of every model whose trigger waits here
    (``waiting``: model → try number); then it wakes every trigger of the run (``refreshed``), so they all
    end on the same refresh.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.read_at: float | None = None
        self.read = _RunRead(None, None, {})
        self.waiting: dict[str, int] = {}
        self.upstream: set[str] = set()
        self.refreshed = asyncio.Event()
        self.used_at = time.monotonic()


_RUNS: dict[tuple[str, str], _RunReports] = {}


def _taken_by(stored: StoredReport | None, try_number: int) -> bool:
    return stored is not None and stored.consumed_try == try_number


def _read_run(dag_id: str, run_id: str, waiting: Mapping[str, int], upstream: list[str]) -> _RunRead:
    """The producer's row first (one seen ended had written every report), then the run's newest reports,
    those of the waiting models taken by their try (one read, one update), on the shared connection."""
    from meridian.transform.model_producer import read_state, upstream_failure
    from meridian.transform.model_reports import consume_many, latest_reports

    def work(conn: Any) -> _RunRead:
        producer = read_state(conn, run_id)
        failed = upstream_failure(conn, dag_id, run_id, upstream) if producer is None else None
        reports = latest_reports(conn, run_id)
        claims = {model: (reports[model].invocation_id, try_number) for model, try_number in waiting.items()
                  if model in reports and reports[model].consumed_try is None}
        for model in consume_many(conn, run_id, claims):
            reports[model] = dataclasses.replace(reports[model], consumed_try=claims[model][1])
        return _RunRead(producer, failed, reports)

    return _CONNECTION.run(work)


SIOCOUTQ = 0x5411  # Linux: the bytes a socket sent that its peer has not read yet
LOGS_READ_SECONDS = 10.0  # a trigger waits at most this long for its log entry to be read before it ends
STUCK_SECONDS = 1.0  # ... and not for a socket whose unread bytes did not move for this long


def unread_socket_bytes() -> dict[int, int]:
    """By file descriptor: what this process wrote to its Unix stream sockets that their readers have not read yet.

    In the triggerer these are the log lines its supervisor has not taken yet: the supervisor reads
    them 4 KB at a time, between the messages of the trigger runner, and drops the lines of a trigger
    that it has already seen end. Empty where /proc is not there. (Linux counts the kernel's bookkeeping
    of each buffer too: at least the bytes.)
    """
    import fcntl
    import socket
    import stat
    import struct

    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return {}
    unread = {}
    for name in names:
        with suppress(OSError, ValueError):
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            with socket.socket(fileno=os.dup(fd)) as sock:
                if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
                    queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]
                    if queued:
                        unread[fd] = queued
    return unread


async def _poll_unread(limit: float) -> None:
    """Until every socket's unread bytes are gone or stuck (unchanged for STUCK_SECONDS: nobody reads that
    socket, and waiting would not help), at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    seen: dict[int, tuple[int, float]] = {}  # fd → (unread, since when)
    while time.monotonic() < deadline:
        now = time.monotonic()
        unread = unread_socket_bytes()
        seen = {fd: seen[fd] if fd in seen and seen[fd][0] == queued else (queued, now)
                for fd, queued in unread.items()}
        if all(now - since >= STUCK_SECONDS for _, since in seen.values()):
            return
        await asyncio.sleep(0.02)


_LOGS_READ: list[asyncio.Task] = []  # the poll the ending triggers of this process share (one at a time)


async def logs_read(limit: float = LOGS_READ_SECONDS) -> None:
    """Until the process's log lines were read by the triggerer's supervisor (at most ``limit`` seconds).

    The triggers ending together share one poll (a look at the sockets every 20 ms), not one each.
    """
    loop = asyncio.get_running_loop()
    if not _LOGS_READ or _LOGS_READ[0].done() or _LOGS_READ[0].get_loop() is not loop:
        _LOGS_READ[:] = [loop.create_task(_poll_unread(limit))]
    await asyncio.shield(_LOGS_READ[0])


class DbtModelTrigger(BaseTrigger):
    """Waits in the triggerer for the producer's report of one model and ends the model's task with it.

    Everything it needs comes from the warehouse (the reports, the producer's state and deadline): it makes
    no request to the triggerer's supervisor, and it logs one entry (the model's dbt lines and how the task
    ends), before its end event.
    """

    def __init__(self, model: str, producer_task_id: str = PRODUCER_TASK_ID, poll_seconds: float = POLL_SECONDS,
                 producer_upstream: list[str] | None = None, wait_seconds: float | None = None):
        super().__init__()
        self.model = model
        self.producer_task_id = producer_task_id
        self.poll_seconds = poll_seconds
        self.producer_upstream = list(producer_upstream or [])
        self.wait_seconds = WAIT_TIMEOUT.total_seconds() if wait_seconds is None else float(wait_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"model": self.model, "producer_task_id": self.producer_task_id, "poll_seconds": self.poll_seconds,
                 "producer_upstream": self.producer_upstream, "wait_seconds": self.wait_seconds})

    async def _refresh(self, watch: _RunReports, dag_id: str, run_id: str, *, fresh: bool = False) -> None:
        """Read (and take) the run's reports unless another trigger of the run just did."""
        async with watch.lock:
            if not fresh and watch.read_at is not None and time.monotonic() - watch.read_at < self.poll_seconds:
                return
            await asyncio.sleep(0)  # the run's triggers started with this one join its waiting list first
            watch.read = await asyncio.to_thread(_read_run, dag_id, run_id, dict(watch.waiting),
                                                 sorted(watch.upstream))
            watch.read_at = time.monotonic()
            woken, watch.refreshed = watch.refreshed, asyncio.Event()
            woken.set()

    async def _wait(self, watch: _RunReports) -> None:
        """Until the run's next refresh (by any of its triggers), at most ``poll_seconds``."""
        with suppress(TimeoutError):
            await asyncio.wait_for(watch.refreshed.wait(), self.poll_seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        run_id, try_number, dag_id = ti.run_id, ti.try_number, ti.dag_id
        begun = time.monotonic()
        for key in [key for key, old in _RUNS.items()
                    if not old.waiting and time.monotonic() - old.used_at > FORGET_SECONDS]:
            del _RUNS[key]  # runs whose model tasks all ended
        watch = _RUNS.get((dag_id, run_id)) or _RUNS.setdefault((dag_id, run_id), _RunReports())
        watch.waiting[self.model] = try_number
        watch.upstream.update(self.producer_upstream)
        lines: list[str] = []
        try:
            fresh = False
            while True:
                await self._refresh(watch, dag_id, run_id, fresh=fresh)
                fresh = False
                stored = watch.read.reports.get(self.model)
                if _taken_by(stored, try_number):
                    report = stored.report  # taken for this try (also before the triggerer restarted it)
                    break
                if stored is not None and stored.consumed_try is None:
                    fresh = True  # written after the last refresh took the others: take it now
                    continue
                verdict = waiting_verdict(self.model, run_id, self.producer_task_id, watch.read.producer,
                                          watch.read.upstream_failed, stored is not None,
                                          time.monotonic() - begun, self.wait_seconds)
                if verdict is None:
                    await self._wait(watch)
                    continue
                if verdict.state != "rebuild":
                    async for event in self._end(verdict, lines):
                        yield event
                    return
                report = await self._rebuild(stored, run_id, try_number, lines)
                break
        finally:
            watch.waiting.pop(self.model, None)
            watch.used_at = time.monotonic()
        if report.failed:  # mails its alerts: off the event loop
            outcome = await asyncio.to_thread(conclude, report, stored.as_of, run_id, lines.append)
        else:  # no I/O: no thread
            outcome = conclude(report, stored.as_of, run_id, lines.append)
        async for event in self._end(outcome, lines):
            yield event

    async def _end(self, outcome: Outcome, lines: list[str]) -> AsyncIterator[TriggerEvent]:
        """Log the task's one entry (its lines, then how it ends), then end the task.

        The entry goes out before the event, and the event waits until the triggerer's supervisor read it:
        the supervisor closes the task's log file once it sees the trigger ended, and a line it reads after
        that misses the file.
        """
        entry = "\n".join([*lines, outcome.message])
        level, event = {"failed": (logging.ERROR, TaskFailedEvent), "skipped": (logging.WARNING, TaskSkippedEvent)}.get(
            outcome.state, (logging.INFO, TaskSuccessEvent))
        self.log.log(level, entry)
        await logs_read()
        yield event()

    async def _rebuild(self, stored: StoredReport, run_id: str, try_number: int, lines: list[str]) -> ModelReport:
        """The model built again alone; dbt's lines go to the log as they come (a build takes seconds)."""
        target, env = await asyncio.to_thread(prepare_rebuild, self.model)
        command = rebuild_command(self.model, stored, target)
        self.log.info("try %s: building %s again alone: dbt %s", try_number, self.model, " ".join(command[2:]))
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=command[command.index("--project-dir") + 1])
        output = []
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            self.log.info(line)
        await process.wait()
        report = await asyncio.to_thread(finish_rebuild, self.model, stored, target, output, run_id, try_number)
        report.log = ""  # its lines are logged above
        return report


def add_model_tasks(producer: Any, downstream: list[Any], models: Mapping[str, Any],
                    *, one_process: bool | None = None, **task_kwargs: Any) -> dict[str, DbtModelOperator]:
    """A DbtModelOperator per model, wired after dbt's lineage, beside (or, in one process, after) ``producer``.

    ``downstream`` tasks wait for every model task (a failed model stops them).
    """
    from airflow.sdk import TriggerRule

    sequential = runs_in_one_process() if one_process is None else one_process
    producer_task = producer.operator if hasattr(producer, "operator") else producer
    tasks = {
        name: DbtModelOperator(
            task_id=name, model=name, producer_task_id=producer_task.task_id,
            # the producer's upstream tasks (plan_transform): one failed for good ends the model tasks at once
            producer_upstream=tuple(sorted(producer_task.upstream_task_ids)),
            trigger_rule=TriggerRule.ALL_DONE if sequential else TriggerRule.ALWAYS,
            doc_md=f"dbt model `{name}` ({model.path}) with its data tests: its lines of the run's `dbt build`; "
                   "a retry builds it again alone.",
            **task_kwargs,
        )
        for name, model in models.items()
    }
    for name, model in models.items():
        parents = [tasks[parent] for parent in model.parents]
        if parents:
            parents >> tasks[name]
        else:
            producer >> tasks[name]
        for task in downstream:
            tasks[name] >> task
    return tasks
