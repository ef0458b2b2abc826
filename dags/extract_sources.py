"""extract_sources: land every source table and event file in the warehouse raw layer."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from meridian.assets import RAW_ASSET
from meridian.config import extract_schedule
from meridian.quality.pipeline_runs import pipeline_task_defaults
from meridian.sources.schema import TABLES
from meridian.transform.one_process import warm_in_process_api

# the source databases, in the contract's order: one task each
SOURCES = tuple(dict.fromkeys(table.source for table in TABLES))

DOC = """
### extract_sources

Incremental extraction of the operational databases (connections `source_app`,
`source_billing`, `source_crm`, `source_games`) and the event-file landing
directory (`MERIDIAN_LANDING_DIR`) into the append-only `raw` schema of the
`warehouse` connection.

* One task per source database (`extract_app`, `extract_billing`,
  `extract_crm`, `extract_games`), loading its docs/sources.md tables two at a
  time, each in its own transaction: rows with an extraction key in
  `[watermark - MERIDIAN_EXTRACT_OVERLAP_MINUTES, as-of instant)`, plus the rows
  the previous run's source snapshot could not see (late commits, null or old
  keys), are COPYed into `raw.<source>__<table>` with a `_batch_id`; the batch
  row in `audit.batches`, the watermark and the source snapshot in
  `audit.watermarks` commit in the same transaction (docs/extraction.md).
* Before the COPY each table's columns are compared with the contract: a column
  added, dropped or retyped raises a `schema_change` alert (once per change); a
  missing required column fails that table alone: the other tables commit
  and the source's task fails naming the failed table and its error.
* The event files (`MERIDIAN_LANDING_DIR`, app events like `app.events`) load in
  `extract_app`, at the same time as the app tables: each `*.jsonl[.gz]` file is
  one batch (two files load at a time); malformed lines are kept for quarantine;
  loaded files move to `archive/` and are never loaded twice. The task's log has
  a line per file and its return value (XCom) their summary under `event_files`.
  A file that cannot be decompressed or decoded moves to `rejected/`, is
  quarantined as `unreadable_file` with a high data-quality alert, and the next
  file loads: a file's content never fails the task (docs/event-files.md).
* `publish_raw` emits the raw asset (with the as-of instant), which schedules
  `transform_warehouse` up to the same instant, once every load is done and at
  least one succeeded: a failed table does not hold back the others' data.
* `check_extracts` fails the run when any load failed (it is skipped
  otherwise), so a partly failed extraction shows as a failed run.

**As-of instant**: the conf `as_of` (an ISO instant at any second, e.g.
`{"as_of": "2026-10-31T14:00:00Z"}`), else the end of the run's data interval
(the scheduled time: every 15 minutes by default, `MERIDIAN_EXTRACT_SCHEDULE`).
An instant before the DAG's start date (loading years of history) runs like any
other. Reruns are safe.
"""

# under `airflow dags test` only: the in-process execution API is built now, not in the first task
warm_in_process_api()

# one audit.pipeline_runs row per task try (state, timings, rows landed, error); retries from 30 s
default_args = pipeline_task_defaults(retry_delay=timedelta(seconds=30))


@dag(
    dag_id="extract_sources",
    # each run's as-of instant is its scheduled time (the end of its data interval)
    schedule=CronTriggerTimetable(extract_schedule(), timezone="UTC"),
    # the earliest plausible data (docs/sources.md): any as-of instant, years of history included, runs
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["meridian", "extract"],
    doc_md=DOC,
)
def extract_sources():
    @task
    def prepare_warehouse() -> None:
        """Create the schemas, raw and audit tables when missing."""
        from meridian.extract.run import prepare_warehouse as prepare

        prepare()

    @task
    def extract_source(source: str) -> dict:
        """Every table of one source, two at a time (the app's with the event files); a failed load is named, the
        others commit."""
        from airflow.sdk.exceptions import AirflowFailException

        from meridian.extract.run import SourceExtractFailed, extract_source
        from meridian.runtime import as_of_instant

        try:
            return extract_source(source, as_of_instant(get_current_context()), event_files=source == "app")
        except SourceExtractFailed as exc:
            if exc.permanent:
                # the tables or values break the contract: a retry would fail the same way
                raise AirflowFailException(str(exc)) from exc
            raise  # a retry loads the failed tables (the loaded ones are up to date and load nothing)

    # every load done and one succeeded: the tables that loaded reach the transform even when one failed
    @task(outlets=[RAW_ASSET], trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def publish_raw() -> str:
        """Emit the raw asset for this as-of instant (transform_warehouse builds up to the same instant)."""
        from meridian.runtime import as_of_instant, covered_date

        context = get_current_context()
        as_of = as_of_instant(context)
        context["outlet_events"][RAW_ASSET].extra = {"as_of": as_of.isoformat(), "as_of_date": covered_date(as_of).isoformat()}
        return as_of.isoformat()

    # runs only when a load failed (skipped otherwise): fails so that the run shows as failed
    @task(trigger_rule=TriggerRule.ONE_FAILED)
    def check_extracts() -> None:
        """Fail the run, naming the loads that failed (publish_raw has emitted what the others landed)."""
        from airflow.sdk.exceptions import AirflowFailException

        from meridian.extract.run import failed_loads_error

        raise AirflowFailException(str(failed_loads_error(get_current_context()["ti"].run_id)))  # no retry

    prepared = prepare_warehouse()
    loads = [extract_source.override(task_id=f"extract_{source}")(source) for source in SOURCES]
    prepared >> loads
    loads >> publish_raw()
    loads >> check_extracts()


extract_sources()
