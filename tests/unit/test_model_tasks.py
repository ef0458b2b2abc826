"""The model tasks of transform_warehouse with a model and a data test made to fail, on a real PostgreSQL.

A small dbt project of its own (a model that divides by zero, one built on it,
one whose not_null test fails, one that succeeds) is built by the producer
(`build_and_report`) into a private embedded PostgreSQL. Each model's task
(the worker path of DbtModelOperator, and the trigger that runs it in the
triggerer) then reports its model: the dbt lines in its log, its state, one
alert mail through the notify path naming the model, the error and the task's
URL; a retry builds the model again alone and mails nothing new.
"""

from __future__ import annotations

import asyncio
import email
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import private_warehouse

RUN_ID = "manual__2026-10-31T00:00:00+00:00"
BASE_URL = "http://airflow.example.test:8145"
MODELS = {
    "good": "select 1 as id",
    "broken": "select 1 / 0 as id",
    "after_broken": "select id from {{ ref('broken') }}",
    "tested": "select null::integer as id from {{ ref('good') }}",
}
SCHEMA_YML = """
version: 2
models:
  - name: tested
    columns:
      - name: id
        data_tests: [not_null]
"""


def write_project(root: Path) -> Path:
    from meridian.config import settings

    project = root / "failing_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: failing\nversion: '1.0'\nconfig-version: 2\nprofile: meridian\nmodel-paths: [models]\n"
        "models:\n  failing:\n    +materialized: table\n")
    shutil.copyfile(settings().dbt_project_dir / "profiles.yml", project / "profiles.yml")
    for name, sql in MODELS.items():
        (project / "models" / f"{name}.sql").write_text(sql + "\n")
    (project / "models" / "_models.yml").write_text(SCHEMA_YML)
    return project


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Iterator[dict]:
    """The producer's build of the failing project, with a mail sink for the alerts."""
    from meridian.extract.run import prepare_warehouse
    from meridian.mailsink import start_background
    from meridian.transform.model_tasks import build_and_report
    from meridian.transform.plan import RunPlan

    root = tmp_path_factory.mktemp("model-tasks")
    with private_warehouse("meridian-model-tasks-"), pytest.MonkeyPatch.context() as patch:
        patch.setenv("MERIDIAN_DBT_PROJECT_DIR", str(write_project(root)))
        patch.setenv("DBT_TARGET_PATH", str(root / "target"))
        patch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
        sink = start_background(0, mail_dir=root / "mail")
        patch.setenv("AIRFLOW_CONN_SMTP_REPORTS", sink.uri)
        try:
            prepare_warehouse()
            plan = RunPlan(as_of_at=datetime(2026, 10, 31, tzinfo=UTC), full_refresh=True, reason="test",
                           late_arrival_days=3, last_built_at=None)
            summary = build_and_report(plan, run_id=RUN_ID)
            yield {"summary": summary, "sink": sink, "plan": plan}
        finally:
            sink.stop()


def context(try_number: int = 1) -> dict:
    return {"ti": SimpleNamespace(run_id=RUN_ID, try_number=try_number)}


def mails(sink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in sink.messages()]


def alerts(node: str) -> list[tuple]:
    from meridian import db

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select severity, message, notified_at is not null from audit.data_quality_alerts "
                    "where split_part(dedup_key, ':', 3) = %s", (node,))
        return cur.fetchall()


def test_the_producer_reports_every_model_and_leaves_failures_to_their_tasks(built):
    from meridian import db
    from meridian.transform.model_reports import latest_reports

    assert built["summary"]["failed_models"] == ["broken", "tested"]
    with db.connection("warehouse") as conn:
        reports = latest_reports(conn, RUN_ID)
    assert {name: stored.report.status for name, stored in reports.items()} == {
        "good": "success", "broken": "error", "after_broken": "skipped", "tested": "success"}
    assert [test["status"] for test in reports["tested"].report.tests] == ["fail"]
    assert "division by zero" in reports["broken"].report.message
    # the model's own dbt lines: its start and its result with the rows written
    assert "START sql table model public.good" in reports["good"].report.log
    assert "OK created sql table model public.good" in reports["good"].report.log
    assert "not_null_tested_id" in reports["tested"].report.log


def test_a_failing_model_task_logs_its_error_and_mails_one_alert_with_its_url(built, capsys):
    from airflow.sdk.exceptions import AirflowException

    from meridian.transform.model_tasks import DbtModelOperator

    task = DbtModelOperator(task_id="broken", model="broken")
    with pytest.raises(AirflowException, match=r"(?s)dbt broken failed .*division by zero"):
        task.execute(context())
    assert "ERROR creating sql table model public.broken" in capsys.readouterr().out
    url = f"{BASE_URL}/dags/transform_warehouse/runs/manual__2026-10-31T00%3A00%3A00%2B00%3A00/tasks/broken"
    [(severity, message, notified)] = alerts("model.failing.broken")
    assert (severity, notified) == ("high", True)
    assert message.startswith("dbt model broken: error (") and "division by zero" in message
    assert message.endswith(f"log: {url}")
    [mail] = mails(built["sink"])
    body = mail.get_content()
    assert "dbt model broken: error" in body and url in body and "division by zero" in body


def test_a_failing_data_test_fails_its_models_task_and_mails_it(built):
    from airflow.sdk.exceptions import AirflowException

    from meridian import db
    from meridian.transform.model_tasks import DbtModelOperator

    with pytest.raises(AirflowException, match=r"test not_null_tested_id \(fail\)"):
        DbtModelOperator(task_id="tested", model="tested").execute(context())
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select message, notified_at is not null from audit.data_quality_alerts "
                    "where dedup_key like 'test_failure:%:test.failing.not_null_tested_id.%'")
        [(message, notified)] = cur.fetchall()
    assert notified and "dbt test not_null_tested_id: fail" in message and message.endswith("/tasks/tested")
    assert any("not_null_tested_id" in mail.get_content() for mail in mails(built["sink"]))


def test_a_skipped_and_a_good_model_end_without_mail(built):
    from airflow.sdk.exceptions import AirflowSkipException

    from meridian.transform.model_tasks import DbtModelOperator

    sent = len(mails(built["sink"]))
    with pytest.raises(AirflowSkipException, match="upstream node failed"):
        DbtModelOperator(task_id="after_broken", model="after_broken").execute(context())
    assert DbtModelOperator(task_id="good", model="good").execute(context()) == "success"
    assert len(mails(built["sink"])) == sent


def test_a_retry_builds_the_model_again_alone_and_mails_nothing_new(built, capsys):
    from airflow.sdk.exceptions import AirflowException

    from meridian.transform.model_tasks import DbtModelOperator

    sent = len(mails(built["sink"]))
    with pytest.raises(AirflowException, match="(?s)division by zero"):
        DbtModelOperator(task_id="broken", model="broken").execute(context(try_number=2))
    out = capsys.readouterr().out
    assert "building broken again alone: dbt build --select broken" in out
    assert "1 of 1 ERROR creating sql table model public.broken" in out
    assert len(alerts("model.failing.broken")) == 1
    assert len(mails(built["sink"])) == sent


@pytest.fixture
def no_supervisor(monkeypatch):
    """The triggerer's supervisor is not asked anything: a request for a task's state or a connection raises."""
    from airflow.sdk import BaseHook
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    def refuse(*args, **kwargs):
        raise AssertionError(f"a request to the supervisor: {args} {kwargs}")

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(refuse))
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(refuse))


def trigger_for(model: str, run_id: str = RUN_ID, try_number: int = 1, **kwargs):
    from meridian.transform.model_tasks import DbtModelTrigger

    made = DbtModelTrigger(model=model, poll_seconds=kwargs.pop("poll_seconds", 0.05), **kwargs)
    made.task_instance = SimpleNamespace(run_id=run_id, try_number=try_number, dag_id="transform_warehouse",
                                         task_id=model, map_index=-1)
    return made


async def first_event(trigger):
    async for event in trigger.run():
        return type(event).__name__


def run_trigger(trigger, capsys) -> tuple[str, str, float]:
    """The trigger's event, its one log entry (the trigger logs nothing else), and how long it took."""
    import re
    import time

    capsys.readouterr()
    started = time.monotonic()
    event = asyncio.run(asyncio.wait_for(first_event(trigger), 60))  # a trigger that would wait forever fails here
    took = time.monotonic() - started
    out = capsys.readouterr().out
    entries = [re.sub(r"(?s)^\S+ \[\w+\s*\] (.*) \[[\w.]+DbtModelTrigger\] loc=\S+\s*$", r"\1", entry)
               for entry in re.split(r"(?m)^(?=\d{4}-\d\d-\d\dT\S+Z \[)", out) if "DbtModelTrigger]" in entry]
    assert len(entries) == 1, out
    return event, entries[0], took


def producer_row(run_id: str, state: str, *, deadline: str = "1 hour", message: str | None = None,
                 try_number: int = 1) -> None:
    from meridian import db
    from meridian.transform.model_producer import PRODUCERS_DDL

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(PRODUCERS_DDL)
        cur.execute("delete from audit.dbt_model_producers where run_id = %s", (run_id,))
        cur.execute("insert into audit.dbt_model_producers (run_id, try_number, state, message, started_at, "
                    "deadline_at) values (%s, %s, %s, %s, clock_timestamp() - interval '2 hours', "
                    "clock_timestamp() + %s::interval)", (run_id, try_number, state, message, deadline))


def test_the_producer_writes_its_end_state_with_the_reports_and_its_deadline(built):
    """build_models' try: running with a deadline of its execution_timeout and grace, then reported."""
    from meridian import db
    from meridian.transform.model_producer import PRODUCER_TIMEOUT, START_SLACK

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select try_number, state, message, deadline_at - started_at from audit.dbt_model_producers "
                    "where run_id = %s", (RUN_ID,))
        assert cur.fetchall() == [(1, "reported", None, PRODUCER_TIMEOUT + START_SLACK)]


@pytest.mark.parametrize(("try_number", "retries", "state", "wait_minutes"), [
    (1, 2, "retrying", 30 + 7),  # a retry follows: the deadline waits for it (its delay + grace to start)
    (3, 2, "failed", None),  # the last try: the model tasks end now with the error
])
def test_a_producer_that_stops_before_its_reports_says_why(built, monkeypatch, try_number, retries, state,
                                                           wait_minutes):
    from datetime import timedelta

    from meridian import db
    from meridian.transform import dbt_run
    from meridian.transform.model_producer import producer_try
    from meridian.transform.model_tasks import build_and_report

    def cannot_start(*args, **kwargs):
        raise dbt_run.DbtBuildError("dbt could not start: profiles.yml not found in /nowhere")

    monkeypatch.setattr(dbt_run, "build_warehouse", cannot_start)
    task = SimpleNamespace(execution_timeout=timedelta(minutes=20), retries=retries,
                           retry_delay=timedelta(minutes=30), retry_exponential_backoff=0)
    run_id = f"stopped__{try_number}"
    with pytest.raises(dbt_run.DbtBuildError):
        build_and_report(built["plan"], run_id=run_id, producer=producer_try(task, try_number))
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select try_number, state, message, deadline_at - updated_at from audit.dbt_model_producers "
                    "where run_id = %s", (run_id,))
        [(tried, stored_state, message, left)] = cur.fetchall()
    assert (tried, stored_state) == (try_number, state)
    assert message == "DbtBuildError: dbt could not start: profiles.yml not found in /nowhere"
    if wait_minutes is not None:
        assert abs(left - timedelta(minutes=wait_minutes)) < timedelta(seconds=5)  # grace: 5 min heartbeat + 2


@pytest.mark.parametrize(("state", "has_report", "waited", "upstream", "verdict", "says"), [
    (None, False, 1.0, None, None, None),  # not started yet: wait
    (None, False, 10.0, None, "failed", "build_models has not started in run r within 0:00:10"),
    (None, False, 1.0, "plan_transform failed: bad as_of", "failed", "never ran in run r: plan_transform failed"),
    ("running", False, 1.0, None, None, None),
    ("retrying", False, 1.0, None, None, None),
    ("running!", False, 1.0, None, "failed", "wrote no end state by its deadline"),  # ! = overdue
    ("reported", True, 1.0, None, "rebuild", "builds the model again alone"),
    ("reported", False, 1.0, None, "failed", "wrote no report of m"),
    ("failed", False, 1.0, None, "failed", "failed before building any model: DbtBuildError: no manifest"),
    ("skipped", False, 1.0, None, "skipped", "build_models was skipped in run r"),
])
def test_a_model_without_a_report_waits_or_ends_from_the_warehouse_alone(state, has_report, waited, upstream,
                                                                         verdict, says):
    from datetime import UTC, datetime

    from meridian.transform.model_producer import ProducerState
    from meridian.transform.model_tasks import waiting_verdict

    producer = None if state is None else ProducerState(
        1, state.rstrip("!"), "DbtBuildError: no manifest" if state == "failed" else None,
        datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 10, 31, 3, tzinfo=UTC), state.endswith("!"))
    outcome = waiting_verdict("m", "r", "build_models", producer, upstream, has_report, waited, 10.0)
    assert (outcome.state if outcome else None) == verdict
    if says:
        assert says in outcome.message


def test_the_trigger_ends_the_task_from_the_warehouse_without_asking_the_supervisor(built, no_supervisor, capsys):
    """The triggerer's path: the producer's reported row and the model's report end the task, in one log entry."""
    from meridian import db

    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("update audit.dbt_model_reports set consumed_try = null where model = 'good'")
    event, entry, _ = run_trigger(trigger_for("good"), capsys)
    assert event == "TaskSuccessEvent"
    # the model's dbt lines and, last, how the task ended: one entry, logged before the event
    assert "OK created sql table model public.good" in entry
    assert entry.endswith("good: success, 0 data test(s) passed")

    producer_row("failed-run", "failed", message="DbtBuildError: dbt build wrote no manifest")
    event, entry, _ = run_trigger(trigger_for("after_broken", run_id="failed-run"), capsys)
    assert event == "TaskFailedEvent"
    assert entry.startswith("after_broken: build_models try 1 started at ")
    assert entry.endswith("failed before building any model: DbtBuildError: dbt build wrote no manifest; see its log")


def test_a_dead_producer_ends_the_model_tasks_at_its_deadline(built, no_supervisor, capsys):
    """A producer killed mid-build leaves `running`: the model tasks fail once its deadline passed, saying so."""
    producer_row("killed-run", "running", deadline="1 second")
    event, entry, took = run_trigger(trigger_for("good", run_id="killed-run"), capsys)
    assert event == "TaskFailedEvent"
    assert 0.5 < took < 10, took  # it waited for the deadline, then ended
    assert "good: build_models try 1 started at " in entry
    assert "wrote no end state by its deadline" in entry and "its process probably died (a killed worker)" in entry


def test_a_model_task_waits_for_a_producer_that_never_starts_at_most_its_limit(built, no_supervisor, capsys):
    from meridian import db

    event, entry, took = run_trigger(trigger_for("good", run_id="never-started", wait_seconds=0.3), capsys)
    assert event == "TaskFailedEvent" and 0.3 <= took < 5
    assert "build_models has not started in run never-started within 0:00:00" in entry
    # a task upstream of the producer that failed for good ends them at once, naming it and its error
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("insert into audit.pipeline_runs (dag_id, run_id, task_id, try_number, started_at, state, error) "
                    "values ('transform_warehouse', 'plan-failed', 'plan_transform', 3, now(), 'failed', "
                    "'ValueError: as_of 2026-13-01 is not an ISO instant')")
    event, entry, took = run_trigger(trigger_for("good", run_id="plan-failed", producer_upstream=["plan_transform"]),
                                     capsys)
    assert event == "TaskFailedEvent" and took < 5
    assert "build_models never ran in run plan-failed: plan_transform failed: ValueError: as_of 2026-13-01" in entry


def test_in_one_process_the_model_tasks_run_after_the_producer():
    """``airflow dags test`` runs one task at a time: the model tasks follow the producer, each reporting."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from meridian.transform.model_graph import Model
    from meridian.transform.model_tasks import add_model_tasks, runs_in_one_process

    assert runs_in_one_process(["/venv/bin/airflow", "dags", "test", "transform_warehouse"])
    assert not runs_in_one_process(["/venv/bin/airflow", "scheduler"])
    assert not runs_in_one_process(["/venv/bin/pytest", "dags", "test"])
    models = {"a": Model("a", "models/staging/a.sql", "staging", ()),
              "b": Model("b", "models/marts/b.sql", "marts", ("a",))}
    with DAG("layout", schedule=None):
        producer, after = EmptyOperator(task_id="build_models"), EmptyOperator(task_id="check_data_quality")
        tasks = add_model_tasks(producer, [after], models, one_process=True)
    assert tasks["a"].upstream_task_ids == {"build_models"} and tasks["b"].upstream_task_ids == {"a"}
    assert {task.trigger_rule for task in tasks.values()} == {"all_done"}
    assert after.upstream_task_ids == {"a", "b"}


def test_the_triggers_of_a_run_share_one_read_one_claim_and_one_connection(built, monkeypatch, no_supervisor):
    """Every waiting trigger of a run ends on the same read of its reports, taken in one statement on one connection;
    a trigger restarted after its try took the report ends with it again, without building the model."""
    from meridian import db
    from meridian.transform import model_reports, model_trigger
    from meridian.transform.model_tasks import DbtModelTrigger

    run_id = "concurrent__2026-10-31"
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("delete from audit.dbt_model_reports where run_id = %s", (run_id,))
        cur.execute("""
            insert into audit.dbt_model_reports (run_id, invocation_id, model, unique_id, status, failed, message,
                tests, log, as_of_date, full_refresh, dbt_vars)
            select distinct on (model) %s, invocation_id || ':copy', model, unique_id, status, failed, message, tests, log,
                as_of_date, full_refresh, dbt_vars
            from audit.dbt_model_reports where run_id = %s and invocation_id not like '%%:rebuild:%%'
            order by model, reported_at desc""", (run_id, RUN_ID))
    connects, reads, claims = [], [], []
    real_connect, real_latest, real_consume = db.connect, model_reports.latest_reports, model_reports.consume_many
    monkeypatch.setattr(db, "connect", lambda *args, **kwargs: connects.append(kwargs) or real_connect(*args, **kwargs))
    monkeypatch.setattr(model_reports, "latest_reports", lambda *args: reads.append(1) or real_latest(*args))
    monkeypatch.setattr(model_reports, "consume_many",
                        lambda conn, run, wanted: claims.append(dict(wanted)) or real_consume(conn, run, wanted))
    monkeypatch.setattr(model_trigger, "_CONNECTION", model_trigger._SharedConnection())
    producer_row(run_id, "running")

    async def rebuild(self, *args):
        raise AssertionError(f"{self.model} was built again")

    monkeypatch.setattr(DbtModelTrigger, "_rebuild", rebuild)

    def trigger(model: str) -> DbtModelTrigger:
        made = DbtModelTrigger(model=model, poll_seconds=2.0)  # all end on the first read: the poll only paces a loaded machine
        made.task_instance = SimpleNamespace(run_id=run_id, try_number=1, dag_id="transform_warehouse",
                                             task_id=model, map_index=-1)
        return made

    async def first_event(made):
        async for event in made.run():
            return type(event).__name__

    async def all_of(models):
        return await asyncio.gather(*(first_event(trigger(model)) for model in models))

    models = sorted(MODELS)
    events = dict(zip(models, asyncio.run(all_of(models)), strict=True))
    assert events == {"good": "TaskSuccessEvent", "broken": "TaskFailedEvent", "after_broken": "TaskSkippedEvent",
                      "tested": "TaskFailedEvent"}
    assert len(reads) == 1 and len(claims) == 1 and sorted(claims[0]) == models
    assert {try_number for _, try_number in claims[0].values()} == {1}
    # the shared connection (autocommit) is the only one the waiting opened; the failed ones' alert mail opens its own
    assert len([kwargs for kwargs in connects if kwargs.get("autocommit")]) == 1
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select model, consumed_try from audit.dbt_model_reports where run_id = %s", (run_id,))
        assert dict(cur.fetchall()) == dict.fromkeys(models, 1)
    # the triggerer restarted (a new process: nothing cached) the trigger of try 1 after it took its report:
    # it ends with that report again, building nothing and taking nothing
    monkeypatch.setattr(model_trigger, "_RUNS", {})
    assert asyncio.run(first_event(trigger("good"))) == "TaskSuccessEvent"
    assert len(reads) == 2 and claims[1:] == [{}]


@pytest.mark.parametrize("map_index", [-1, 3])
def test_the_log_file_name_without_jinja_is_airflows(map_index):
    """The producer names the model tasks' log files without Jinja, as Airflow's default template does."""
    from airflow.configuration import conf
    from airflow.utils.helpers import parse_template_string, render_template

    from meridian.transform.model_tasks import DEFAULT_LOG_TEMPLATE, log_file_name

    assert DEFAULT_LOG_TEMPLATE == conf.get_default_value("logging", "log_filename_template")
    ti = SimpleNamespace(dag_id="transform_warehouse", task_id="fct_daily_kpis", run_id=RUN_ID, map_index=map_index,
                         try_number=1)
    _, jinja = parse_template_string(DEFAULT_LOG_TEMPLATE)
    assert log_file_name(DEFAULT_LOG_TEMPLATE, ti.dag_id, RUN_ID, ti.task_id, map_index, "", ["", ""]) == (
        render_template(jinja, {"ti": ti, "ts": "", "try_number": 1}, native=False))


def test_a_trigger_ends_once_its_log_entry_was_read():
    """What was written to a Unix socket and not yet read by its peer is counted, then cleared by the read; the
    wait for it gives up at its limit, or once nobody read that socket for STUCK_SECONDS."""
    import socket
    import time

    from meridian.transform.model_tasks import STUCK_SECONDS, logs_read, unread_socket_bytes

    before = unread_socket_bytes()
    runner, supervisor = socket.socketpair()
    with runner, supervisor:
        runner.sendall(b"x" * 5000)
        assert unread_socket_bytes()[runner.fileno()] >= 5000
        waited = time.monotonic()
        asyncio.run(logs_read(limit=0.2))  # nobody reads: it gives up after its limit
        assert 0.2 <= time.monotonic() - waited < STUCK_SECONDS
        waited = time.monotonic()
        asyncio.run(logs_read(limit=30))  # nobody reads, ever: it gives up once the socket was stuck
        assert STUCK_SECONDS <= time.monotonic() - waited < 5
        assert len(supervisor.recv(8192)) == 5000
        assert unread_socket_bytes() == before
        waited = time.monotonic()
        asyncio.run(logs_read(limit=30))  # all read: it returns at once
        assert time.monotonic() - waited < 0.5
