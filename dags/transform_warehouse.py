"""transform_warehouse: build the dbt project (staging, intermediate, marts, audit) up to the run's as-of instant."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from meridian.assets import MARTS_ASSET, RAW_ASSET
from meridian.config import settings
from meridian.quality.pipeline_runs import pipeline_run_callbacks, pipeline_task_defaults
from meridian.transform.model_graph import project_models
from meridian.transform.model_producer import PRODUCER_TIMEOUT
from meridian.transform.model_tasks import add_model_tasks
from meridian.transform.one_process import warm_in_process_api

DOC = """
### transform_warehouse

Runs on every update of the raw asset (emitted by `extract_sources`, every 15
minutes by default) and builds the dbt project up to the run's **as-of
instant**: the conf `as_of` (an ISO instant, any second), else the instant
carried by the raw asset event, else the end of the run's data interval. The
marts cover exactly the activity before it; the day and hour holding it are
partial rows that later runs complete.

1. `plan_transform` runs the warehouse bootstrap when its code changed (once per
   version: no table locks on other runs) and decides
   **incremental or full refresh**: full on the first
   build, on request (param `full_refresh`), for a backfill (an as-of instant
   before the last build's) and once a week, on the first run of the full-refresh
   day (`MERIDIAN_FULL_REFRESH_WEEKDAY`, default Sunday); otherwise incremental, with the `late_arrival_days` lookback (default
   3, `MERIDIAN_LATE_ARRIVAL_DAYS`) widened by any skipped days.
2. `build_models` runs one `dbt build` in-process (seeds, snapshot, models, data
   tests right after each model, singular invariant tests after their models),
   then measures every source's freshness with the source's own query and
   thresholds (dbt_project/models/staging/_staging__sources.yml) in the same
   process, without a second dbt invocation. An incremental plan becomes a full
   refresh when an incremental model, or anything upstream of it, changed since
   the last successful build (the parsed project's digests against those that
   build recorded); the reason is logged and kept in
   `audit.transform_runs.reason`. An incremental build leaves out the nodes
   whose output cannot change (unchanged views over relations kept in place,
   models that read neither the as-of instant nor a source with a new batch);
   the selection is logged and kept in `audit.transform_runs.selection`
   (meridian.transform.selection). Every node's outcome goes to
   `audit.dbt_node_results`; failed tests and stale sources raise rows in
   `audit.data_quality_alerts`; a report per model goes to
   `audit.dbt_model_reports` for the model's task. The task fails only for a
   failure no model task reports (a seed, the snapshot, a source's test) or
   when dbt could not run.
   **A task per dbt model** (named like the model, e.g. `fct_daily_kpis`;
   dependencies follow dbt's lineage) shows that model's lines of the build
   (start, rows and timing, error) and its data tests' in its own log, and
   ends with its outcome: failed when the model or one of its tests failed
   (mailing one alert naming the node, the error and the task's URL; a retry
   that fails again mails nothing new), skipped when dbt skipped it after an
   upstream failure. A retry or a clear of the task builds that model again
   alone (`dbt build --select <model>` with the run's vars). The model tasks
   start and end in the triggerer, with no worker process each
   (meridian.transform.model_tasks), reading everything from the warehouse:
   `build_models` writes its state to `audit.dbt_model_producers`, and one that
   dies without writing it fails them at its deadline (its 3 h
   `execution_timeout`, plus Airflow's time to notice and retry it).
3. `check_data_quality` raises quarantine, new-event-type and volume alerts for
   the last closed day and emails the high and critical ones to the operations
   address; the event and payment reads are skipped when nothing they read
   changed since the last check of that day (meridian.transform.quality).
4. `reconcile_batches` writes the batch counts that are new or changed and
   checks `landed = accepted + quarantined + duplicates` for every batch.
5. `generate_docs` refreshes the dbt docs site (menu *Docs → dbt docs*) when
   the project changed since the published docs (the build's manifest
   checksums), full refresh or not; otherwise it keeps them.
6. `publish_marts` vacuums the marts the KPI API reads by index-only scans
   (meridian.transform.serving) and emits the marts asset that schedules
   `deliver_reports`.
"""

# under `airflow dags test` only: the in-process execution API is built now, not in the first task
warm_in_process_api()

# one audit.pipeline_runs row per task try (state, timings, error); retries from 30 s
default_args = pipeline_task_defaults(retry_delay=timedelta(seconds=30))

# model tasks: one retry (it builds the model again alone); no audit.pipeline_runs callbacks, which would
# each cost a callback run in the dag-processor (the producer's row and audit.dbt_model_reports cover them)
MODEL_TASK_ARGS = {
    "retries": 1,
    **{name: [] for name in pipeline_run_callbacks()},
}


@dag(
    dag_id="transform_warehouse",
    schedule=[RAW_ASSET],
    # the earliest plausible data (docs/sources.md): any as-of instant, years of history included, builds
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["meridian", "dbt"],
    doc_md=DOC,
    params={
        "full_refresh": Param(False, type="boolean", description="Rebuild every incremental model from scratch."),
        "as_of": Param(
            None, type=["null", "string"],
            description="As-of instant (ISO 8601, e.g. 2026-10-31T14:00:00Z); default: the raw asset event's.",
        ),
    },
)
def transform_warehouse():
    @task
    def plan_transform() -> dict:
        """The as-of instant, the warehouse objects, and incremental or full refresh with its lookback."""
        from meridian.runtime import as_of_instant
        from meridian.transform.plan import prepare_and_plan

        context = get_current_context()
        as_of = as_of_instant(context)  # a bad conf as_of fails here, before anything is built
        requested = bool(context["params"].get("full_refresh", False))
        return prepare_and_plan(as_of, requested_full_refresh=requested).as_dict()

    # its timeout is also the model tasks' deadline for its end state (meridian.transform.model_producer)
    @task(execution_timeout=PRODUCER_TIMEOUT)
    def build_models(plan: dict) -> dict:
        """One in-process `dbt build` (no unit tests), the sources' freshness, a report per model for its task."""
        from meridian.transform.model_producer import producer_try
        from meridian.transform.model_tasks import build_and_report, runs_in_one_process
        from meridian.transform.plan import RunPlan

        context = get_current_context()
        # under `airflow dags test` the model tasks are ended here rather than started one by one
        finish = context["dag"].dag_id if runs_in_one_process() else None
        return build_and_report(RunPlan.from_dict(plan), run_id=context["run_id"], finish_dag_id=finish,
                                producer=producer_try(context["task"], context["ti"].try_number))

    @task
    def check_data_quality(plan: dict) -> dict:
        """Quarantine share, new event types and volume anomalies of the last closed day; email high/critical."""
        from meridian.transform.plan import RunPlan
        from meridian.transform.quality import check_and_notify

        return check_and_notify(RunPlan.from_dict(plan).last_closed_day)

    @task
    def reconcile_batches(plan: dict) -> dict:
        """Copy dbt's per-batch outcomes into audit.batches; fail if any batch does not add up."""
        from meridian.quality.batches import reconcile_batches as reconcile
        from meridian.transform.plan import RunPlan

        return reconcile(RunPlan.from_dict(plan).as_of_at)

    @task
    def generate_docs(plan: dict) -> dict:
        from meridian.transform.dbt_docs import generate_docs as generate
        from meridian.transform.plan import RunPlan

        return generate(RunPlan.from_dict(plan))

    @task(outlets=[MARTS_ASSET])
    def publish_marts(plan: dict) -> str:
        """Ready the marts the API reads by index-only scans, then emit the marts asset."""
        from meridian.transform.serving import ready_served_marts

        ready_served_marts()
        extra = {"as_of": str(plan["as_of_at"]), "as_of_date": str(plan["as_of"])}
        get_current_context()["outlet_events"][MARTS_ASSET].extra = extra
        return extra["as_of"]

    plan = plan_transform()
    built = build_models(plan)
    checked = check_data_quality(plan)
    # a task per dbt model, lineage as dbt's; they end in the triggerer, no worker each (model_tasks doc)
    add_model_tasks(built, [checked], project_models(settings().dbt_project_dir), **MODEL_TASK_ARGS)
    built >> checked >> reconcile_batches(plan) >> generate_docs(plan) >> publish_marts(plan)


transform_warehouse()
