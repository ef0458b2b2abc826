"""
### deliver_reports

Renders and e-mails each tenant's scheduled reports (`reporting.scheduled_reports`)
and records every delivery in `reporting.report_deliveries`.

- **Schedule**: when `transform_warehouse` updates the marts asset, and every 15 minutes (UTC).
- **"Now"** is the run's logical date; asset-triggered runs have none and use `run_after`.
  A report is due when `next_run_at <= now`; it covers the period ending at its due time
  (monthly due 2024-04-01 → March 2024); missed periods are caught up oldest first.
- **Exactly once** per (report, period): the delivery row is written before sending and marked
  `sent` after; a `sent` period is never sent again, a `rendered` one left by a killed attempt is
  resent, a `failed` one is retried by the next run.
- **Connections**: `warehouse` (PostgreSQL), `smtp_reports` (e.g. `smtp://127.0.0.1:8025`, the
  local sink `python -m meridian.mailsink`).
- **Failures**: a report with bad configuration (recipient, format, parameter) gets a `failed`
  row naming the field and does not stop the others; the task fails (and retries with backoff)
  only for SMTP or database trouble.

Logic: `include/meridian/reports/` (see `delivery.py`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from meridian.assets import MARTS_ASSET

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
    default_args={
        "owner": "meridian",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
    tags=["meridian", "reports"],
    doc_md=__doc__,
)
def deliver_reports() -> None:
    @task
    def ensure_reporting_schema() -> None:
        from meridian.db import connection
        from meridian.reports.schema import ensure_reporting_schema as ensure

        with connection("warehouse") as conn:
            ensure(conn)

    @task
    def deliver_due_reports() -> dict:
        from meridian.reports.delivery import deliver_due_reports as deliver
        from meridian.reports.delivery import run_time, summarize

        dag_run = get_current_context()["dag_run"]
        now = run_time(dag_run.logical_date, dag_run.run_after)
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
        if summary["retryable_failures"]:
            raise RuntimeError(
                f"{summary['retryable_failures']} report deliveries failed on SMTP or database errors; "
                "the task retry resends only the unsent ones"
            )
        return summary

    ensure_reporting_schema() >> deliver_due_reports()


deliver_reports()
