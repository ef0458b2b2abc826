"""The producer of the model tasks (meridian.transform.model_tasks): the run's one ``dbt build`` and its reports.

:func:`build_and_report` runs the build and writes a report per model
(meridian.transform.model_reports) and the producer's state
(meridian.transform.model_producer); under ``airflow dags test`` it ends the
run's model tasks itself (:func:`finish_in_place`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from meridian.transform.model_outcome import PRODUCER_TASK_ID, _conn_id, conclude
from meridian.transform.model_producer import (
    FAILED,
    PRODUCER_TIMEOUT,
    REPORTED,
    RETRYING,
    SKIPPED,
    START_SLACK,
    ProducerTry,
    record_end,
    record_start,
)
from meridian.transform.model_reports import ModelReport, build_reports

log = logging.getLogger(__name__)


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
        artifacts: dict[str, Any] = {}  # the build's manifest and run results, read once by build_warehouse
        summary = build_warehouse(plan, run_id=run_id, callbacks=[lines],
                                  links=lambda manifest: alert_links(manifest, run_id), raise_on_failure=False,
                                  artifacts=artifacts)
        manifest, run_results = artifacts.get("manifest"), artifacts.get("run_results")
        if manifest is None or run_results is None:
            raise DbtBuildError(f"dbt build wrote no manifest or run results to {target_dir()}: {summary['failed']}")
        reports = build_reports(manifest, run_results, lines.lines)
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

