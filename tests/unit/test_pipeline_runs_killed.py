"""A task try killed with SIGKILL is marked ``killed`` in audit.pipeline_runs (and its dbt build in transform_runs).

Each try runs the real ``on_execute_callback`` in a process of its own, which
the test kills with SIGKILL (no callback runs after that, as in Airflow); the
next try of the task, or any task starting on this host, marks it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from meridian import db
from meridian.quality.pipeline_runs import pipeline_run_callbacks, process_is_gone, this_process
from meridian.transform.plan import TRANSFORM_RUNS_DDL
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

RUN = "manual__2026-10-31T00:00:00+00:00"
STARTED = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)

# a try in its own process: the start callback, optionally a dbt build's running row, then it waits to be killed
TRY_CODE = """
import sys, time
from datetime import datetime
from types import SimpleNamespace
from meridian import db
from meridian.quality.pipeline_runs import record_task_start
dag_id, task_id, try_number, build = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ti = SimpleNamespace(dag_id=dag_id, run_id=sys.argv[5], task_id=task_id, map_index=-1, try_number=try_number,
                     start_date=datetime.fromisoformat(sys.argv[6]), end_date=None)
record_task_start({"ti": ti})
if build != "-":
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("insert into audit.transform_runs (invocation_id, run_id, as_of_date, full_refresh, reason, "
                    "late_arrival_days, status) values (%s, %s, '2026-10-31', true, 'first build', 3, 'running')",
                    (build, sys.argv[5]))
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-killed-tries-test-") as base:
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            ensure_warehouse(conn)
            cur.execute(TRANSFORM_RUNS_DDL)
        yield base


@pytest.fixture
def clean(warehouse: Path) -> Iterator[list[subprocess.Popen]]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("truncate audit.pipeline_runs, audit.transform_runs")
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def start_try(started: list[subprocess.Popen], dag_id: str, task_id: str, try_number: int = 1,
              build: str = "-", run_id: str = RUN, start: datetime = STARTED) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", TRY_CODE, dag_id, task_id, str(try_number), build, run_id, start.isoformat()],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    started.append(process)
    assert process.stdout.readline().strip() == "ready"
    return process


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL


def context(dag_id: str, task_id: str, try_number: int = 1, run_id: str = RUN) -> dict:
    ti = SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1, try_number=try_number,
                         start_date=datetime.now(UTC), end_date=None)
    return {"ti": ti}


def rows() -> dict[tuple, tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select dag_id, task_id, try_number, state, ended_at is not null, error, hostname, pid "
                    "from audit.pipeline_runs")
        return {row[:3]: row[3:] for row in cur.fetchall()}


def builds() -> dict[str, tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select invocation_id, status, ended_at is not null from audit.transform_runs")
        return {row[0]: row[1:] for row in cur.fetchall()}


def test_a_running_try_records_its_process(clean) -> None:
    process = start_try(clean, "extract_sources", "extract_app__users")
    state, ended, error, hostname, pid = rows()[("extract_sources", "extract_app__users", 1)]
    assert (state, ended, error, hostname, pid) == ("running", False, None, socket.gethostname(), process.pid)
    assert not process_is_gone(pid, None)


def test_the_next_try_of_a_killed_task_marks_it_killed(clean) -> None:
    first = start_try(clean, "extract_sources", "extract_app__users")
    kill(first)
    assert rows()[("extract_sources", "extract_app__users", 1)][0] == "running"  # no callback ran

    pipeline_run_callbacks()["on_execute_callback"](context("extract_sources", "extract_app__users", try_number=2))
    found = rows()
    state, ended, error, _, pid = found[("extract_sources", "extract_app__users", 1)]
    assert (state, ended, pid) == ("killed", True, first.pid)
    assert error.startswith(f"killed: the try's process (pid {first.pid} on {socket.gethostname()})")
    assert "found when try 2 of the same task started" in error
    assert found[("extract_sources", "extract_app__users", 2)][:3] == ("running", False, None)


def test_any_task_starting_sweeps_dead_tries_of_this_host_only(clean) -> None:
    dead = start_try(clean, "deliver_reports", "deliver_due_reports")
    alive = start_try(clean, "extract_sources", "load_event_files")
    kill(dead)
    me = this_process()
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        row = "insert into audit.pipeline_runs (dag_id, run_id, task_id, started_at, state, hostname, pid, " \
              "process_started_at) values (%s, %s, %s, now(), 'running', %s, %s, %s)"
        # this pid, but another process's start time: the recorded process is gone, its pid reused
        cur.execute(row, ("d", RUN, "reused_pid", me.hostname, me.pid, datetime(2000, 1, 1, tzinfo=UTC)))
        # another host: this host cannot tell
        cur.execute(row, ("d", RUN, "other_host", "elsewhere.example", dead.pid, None))
        # a row from before the process was recorded: cannot tell
        cur.execute(row, ("d", RUN, "no_pid", me.hostname, None, None))

    pipeline_run_callbacks()["on_execute_callback"](context("transform_warehouse", "plan_transform",
                                                            run_id="other_run"))
    states = {key[:2]: value[0] for key, value in rows().items()}
    assert states == {
        ("deliver_reports", "deliver_due_reports"): "killed",
        ("extract_sources", "load_event_files"): "running",
        ("d", "reused_pid"): "killed",
        ("d", "other_host"): "running",
        ("d", "no_pid"): "running",
        ("transform_warehouse", "plan_transform"): "running",
    }
    error = rows()[("deliver_reports", "deliver_due_reports", 1)][2]
    assert "found by the sweep at the start of transform_warehouse.plan_transform (run other_run, try 1)" in error
    assert alive.poll() is None


def test_a_killed_build_task_marks_its_dbt_build_killed(clean) -> None:
    first = start_try(clean, "transform_warehouse", "build_models", build=f"{RUN}:aaa")
    kill(first)
    with db.connection("warehouse") as conn, conn.cursor() as cur:  # another run's build, still alive
        cur.execute("insert into audit.transform_runs (invocation_id, run_id, as_of_date, full_refresh, reason, "
                    "late_arrival_days, status) values ('other:bbb', 'other', '2026-10-31', false, 'x', 3, 'running')")
    assert builds()[f"{RUN}:aaa"] == ("running", False)

    # the second try starts: the killed try and its build are marked; the retry's own build then runs
    second = start_try(clean, "transform_warehouse", "build_models", try_number=2, build=f"{RUN}:ccc",
                       start=datetime.now(UTC))
    assert builds() == {f"{RUN}:aaa": ("killed", True), "other:bbb": ("running", False), f"{RUN}:ccc": ("running", False)}

    # the second try is killed too: a task of another DAG run sweeps it; the live one's build is not touched
    kill(second)
    pipeline_run_callbacks()["on_execute_callback"](context("deliver_reports", "ensure_reporting_schema",
                                                            run_id="later"))
    assert builds() == {f"{RUN}:aaa": ("killed", True), "other:bbb": ("running", False), f"{RUN}:ccc": ("killed", True)}
    assert rows()[("transform_warehouse", "build_models", 2)][0] == "killed"
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select pg_get_constraintdef(oid) from pg_constraint where conname = 'transform_runs_status_check'")
        assert "'killed'" in cur.fetchone()[0]


def test_a_table_without_the_process_columns_gets_them(clean) -> None:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("alter table audit.pipeline_runs drop column hostname, drop column pid, "
                    "drop column process_started_at")
    pipeline_run_callbacks()["on_execute_callback"](context("extract_sources", "prepare_warehouse"))
    assert rows()[("extract_sources", "prepare_warehouse", 1)][0] == "running"
    assert rows()[("extract_sources", "prepare_warehouse", 1)][4] == os.getpid()


def test_a_failing_sweep_still_records_the_try(clean, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import meridian.quality.pipeline_runs as pipeline_runs

    def broken(cur, row, process):
        cur.execute("select * from audit.no_such_table")

    monkeypatch.setattr(pipeline_runs, "mark_killed_tries", broken)
    pipeline_run_callbacks()["on_execute_callback"](context("extract_sources", "prepare_warehouse"))
    assert rows()[("extract_sources", "prepare_warehouse", 1)][0] == "running"
    assert "could not mark the killed tries" in caplog.text
