"""A task per dbt model in ``transform_warehouse``: one ``dbt build`` produces, each model's task reports.

``build_models`` (the producer, meridian.transform.model_build) runs the
run's one ``dbt build`` (:func:`meridian.transform.dbt_run.build_warehouse`
with the plan's ``build_args``) and writes a report per model
(meridian.transform.model_reports).
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
(``start_from_trigger``; :class:`DbtModelTrigger`, meridian.transform.model_trigger,
ends them with a task end event). Under the scheduler they start with the run (trigger rule ``always``),
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

This module holds the operator and the wiring (:func:`add_model_tasks`); what a
task does with its report is meridian.transform.model_outcome. Its former
names stay importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator
from airflow.triggers.base import StartTriggerArgs

from meridian.transform.model_build import DEFAULT_LOG_TEMPLATE, build_and_report, finish_in_place, log_file_name
from meridian.transform.model_outcome import (
    PRODUCER_TASK_ID,
    WAIT_TIMEOUT,
    Outcome,
    claim,
    conclude,
    fetch_producer,
    fetch_report,
    rebuild_sync,
    waiting_verdict,
)
from meridian.transform.model_producer import SKIPPED
from meridian.transform.model_trigger import (
    POLL_SECONDS,
    STUCK_SECONDS,
    DbtModelTrigger,
    logs_read,
    unread_socket_bytes,
)
from meridian.transform.one_process import runs_in_one_process

__all__ = [
    "DEFAULT_LOG_TEMPLATE", "POLL_SECONDS", "PRODUCER_TASK_ID", "STUCK_SECONDS", "WAIT_TIMEOUT", "DbtModelOperator",
    "DbtModelTrigger", "Outcome", "add_model_tasks", "build_and_report", "conclude", "finish_in_place",
    "log_file_name", "logs_read", "runs_in_one_process", "unread_socket_bytes", "waiting_verdict",
]


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
