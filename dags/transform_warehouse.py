"""transform_warehouse: build the dbt layers (staging, intermediate, marts, audit) with Cosmos."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from cosmos import DbtTaskGroup

from meridian.assets import MARTS_ASSET, RAW_ASSET
from meridian.dbt_config import AS_OF_TASK_ID, cosmos_kwargs

DOC = """
### transform_warehouse

Runs on every update of the raw asset (emitted by `extract_sources`). Each dbt
model (and seed) is a task of the `dbt` group, rendered by astronomer-cosmos
from the project's manifest; the task runs `dbt build` for its node, so the
model's data and unit tests run right after it and a failure stops its
downstream models: staging views and checked base tables, the
quarantine (`audit.quarantine`), intermediate models and the marts of
METRICS.md. Afterwards `reconcile_batches` fills accepted / quarantined /
duplicate counts into `audit.batches` and checks `landed = accepted +
quarantined + duplicates` for every batch, and `publish_marts` emits the marts
asset that schedules `deliver_reports`.

The as-of date (`resolve_as_of`) is the run's logical date, or the as-of date
carried by the raw asset event; dbt gets it as the `as_of_date` var.
"""

default_args = {
    "owner": "meridian",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@dag(
    dag_id="transform_warehouse",
    schedule=[RAW_ASSET],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["meridian", "dbt"],
    doc_md=DOC,
)
def transform_warehouse():
    @task(task_id=AS_OF_TASK_ID)
    def resolve_as_of() -> str:
        """The as-of date of this run (YYYY-MM-DD)."""
        from meridian.runtime import as_of_date_str

        return as_of_date_str(get_current_context())

    @task
    def prepare_warehouse() -> None:
        from meridian.extract.run import prepare_warehouse as prepare

        prepare()

    @task
    def reconcile_batches() -> dict:
        """Copy dbt's per-batch outcomes into audit.batches; fail if any batch does not add up."""
        from meridian.quality.batches import reconcile_batches as reconcile
        from meridian.runtime import as_of_date

        return reconcile(as_of_date(get_current_context()))

    @task(outlets=[MARTS_ASSET])
    def publish_marts() -> str:
        from meridian.runtime import as_of_date_str

        context = get_current_context()
        as_of = as_of_date_str(context)
        context["outlet_events"][MARTS_ASSET].extra = {"as_of_date": as_of}
        return as_of

    dbt = DbtTaskGroup(group_id="dbt", **cosmos_kwargs())
    resolve_as_of() >> prepare_warehouse() >> dbt >> reconcile_batches() >> publish_marts()


transform_warehouse()
