"""
### deliver_reports

Renders and e-mails each tenant's scheduled reports (`reporting.scheduled_reports`)
and records every delivery in `reporting.report_deliveries`.

- **Schedule**: when `transform_warehouse` updates the marts asset, and every 15 minutes (UTC).
- **"Now"** is the run's logical date (the end of its data interval), never the wall clock, so
  `airflow dags test deliver_reports DATE` delivers what was due at DATE; asset-triggered runs
  have no logical date and use `run_after`. A report is due when `is_active` and
  `next_run_at <= now`; it covers the period ending at its due time (monthly due 2024-04-01 →
  March 2024); missed periods are caught up oldest first.
- **Exactly once** per (report, period): the delivery row, with the period's fixed Message-ID, is
  written before sending, stamped (`data_sent_at`) just before the message's content goes to the
  SMTP server, and marked `sent` after. A delivery killed (or cut off) after its content went out
  is resent under the same Message-ID, so nothing is lost and a receiving system keeps one copy;
  the row is recorded `sent` once.
- **Connections**: `warehouse` (PostgreSQL), `smtp_reports` (e.g. `smtp://127.0.0.1:8025`, the
  local sink `python -m meridian.mailsink`).
- **Failures**: a report with bad configuration (recipient, format, parameter) gets a `failed`
  row naming the field and does not stop the others; SMTP errors are retried with backoff inside
  the task; every failed delivery raises a data-quality alert (`audit.data_quality_alerts`); the
  task fails (and retries with backoff) only for SMTP or database trouble.

Logic: `include/meridian/delivery/` (see `deliver.py`); columns and rules: `docs/reporting.md`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from meridian.assets import MARTS_ASSET
from meridian.quality.pipeline_runs import pipeline_task_defaults

log = logging.getLogger(__name__)


@dag(
    dag_id="deliver_reports",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="UTC"),
        assets=[MARTS_ASSET],
    ),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # one audit.pipeline_runs row per task try; retries from a minute
    default_args=pipeline_task_defaults(retry_delay=timedelta(minutes=1)),
    tags=["meridian", "reports"],
    doc_md=__doc__,
)
def deliver_reports() -> None:
    @task
    def ensure_reporting_schema() -> None:
        from meridian.db import connection
        from meridian.delivery.schema import ensure_delivery_schema

        with connection("warehouse") as conn:
            ensure_delivery_schema(conn)

    @task
    def deliver_due_reports() -> dict:
        from meridian.delivery.deliver import deliver_due_reports as deliver
        from meridian.delivery.deliver import run_time, summarize

        dag_run = get_current_context()["dag_run"]
        now = run_time(dag_run.logical_date, dag_run.run_after, dag_run.data_interval_end)
        summary = summarize(deliver(now, warehouse_conn_id="warehouse", smtp_conn_id="smtp_reports"))
        summary["now"] = now.isoformat()
        log.info("deliveries as of %s: %s", summary["now"], summary["counts"])
        for failure in summary["failures"]:
            log.warning(
                "report %s (%s) for %s failed: %s",
                failure["report_id"],
                failure["tenant_id"],
                failure["period_start"],
                failure["error"],
            )
        if summary["resent"]:
            log.warning(
                "%s deliveries were handed to the SMTP server again under the Message-ID of an earlier attempt "
                "that stopped before recording them sent",
                summary["resent"],
            )
        if summary["retryable_failures"]:
            raise RuntimeError(
                f"{summary['retryable_failures']} report deliveries failed on SMTP or database errors; "
                "the task retry resends only the unsent ones"
            )
        return summary

    ensure_reporting_schema() >> deliver_due_reports()


deliver_reports()
