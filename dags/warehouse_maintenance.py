"""warehouse_maintenance: raw event partitions, 13-month raw retention into the history layer, vacuum."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from meridian.quality.pipeline_runs import pipeline_task_defaults

DOC = """
### warehouse_maintenance

Daily upkeep of the raw event tables (`raw.app__events`, `raw.app__event_files`),
which are range-partitioned by month of `occurred_at` (a default partition takes
null or unparseable values and months without a partition yet).

1. `prepare_warehouse` creates the schemas and tables when missing (and migrates
   an unpartitioned raw event table once).
2. `partition_raw_events` gives every month found in a default partition its own
   partition (moving the rows) and creates the as-of month and the two after it;
   rows dated after those months stay in the default partition.
3. `purge_raw_events` drops the month partitions that lie wholly before the
   as-of minus `MERIDIAN_RAW_RETENTION_MONTHS` calendar months (default 13). First,
   the accepted current version of each of their events goes to
   `history.app__events`, which staging reads beside raw, so a full refresh
   rebuilds the same marts; the batches that lose rows are marked
   `audit.batches.purged_at` (their reconciled counts stay) and each dropped
   partition is recorded in `audit.raw_purges`. A month whose rows staging has
   not classified yet waits for a later run (logged). Rows without an
   occurred_at are never purged.
4. `vacuum_raw_events` runs `VACUUM (ANALYZE)` on the raw event tables and the history table.

The as-of instant is the conf `as_of` (ISO 8601, e.g. `{"as_of": "2026-11-30T00:00:00Z"}`),
else the end of the data interval (meridian.runtime.as_of_instant). Running it again is
harmless. Logic: `include/meridian/warehouse/retention.py`; details: `docs/retention.md`.
"""

# one audit.pipeline_runs row per task try; retries from a minute
default_args = pipeline_task_defaults(retry_delay=timedelta(minutes=1))


@dag(
    dag_id="warehouse_maintenance",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["meridian", "maintenance"],
    doc_md=DOC,
)
def warehouse_maintenance():
    @task
    def prepare_warehouse() -> None:
        """Create the schemas, raw, history and audit tables when missing."""
        from meridian.extract.run import prepare_warehouse as prepare

        prepare()

    @task
    def partition_raw_events() -> dict:
        """Month partitions for every month in the default partitions and the months ahead of the as-of."""
        from meridian.runtime import as_of_instant
        from meridian.warehouse.retention import partition_raw_events as split

        return split(as_of_instant(get_current_context()))

    @task
    def purge_raw_events() -> dict:
        """Events past retention to history.app__events, then their month partitions detached and dropped."""
        from meridian.runtime import as_of_instant
        from meridian.warehouse.retention import purge_raw_events as purge

        return purge(as_of_instant(get_current_context())).as_dict()

    @task
    def vacuum_raw_events() -> list[str]:
        from meridian.warehouse.retention import vacuum_raw_events as vacuum

        return vacuum()

    prepare_warehouse() >> partition_raw_events() >> purge_raw_events() >> vacuum_raw_events()


warehouse_maintenance()
