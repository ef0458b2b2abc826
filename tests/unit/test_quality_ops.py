"""Operations bookkeeping against a real PostgreSQL and a real SMTP server (the aiosmtpd sink).

- notify_alerts mails the high and critical alerts once, in one message to the
  operations address, and never again on a second call; a failed send marks
  nothing, so the retry sends them;
- the Airflow task callbacks write one audit.pipeline_runs row per task try
  and never raise, even when the warehouse is unreachable.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from meridian import db
from meridian.mailsink import SinkHandle, free_port, start_background, stop
from meridian.quality.notify import notify_alerts
from meridian.quality.pipeline_runs import pipeline_run_callbacks
from meridian.smtp import SendError
from meridian.warehouse.alerts import Alert, record_alert
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse

AS_OF = date(2026, 10, 31)
OPS = "data-ops@example.com"


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-quality-ops-test-", ensure_warehouse) as base:
        yield base


@pytest.fixture
def conn(warehouse: Path):
    connection = db.connect("warehouse")
    with connection.cursor() as cur:
        cur.execute("truncate audit.data_quality_alerts, audit.pipeline_runs")
    connection.commit()
    yield connection
    connection.rollback()
    connection.close()


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SinkHandle]:
    handle = start_background(0, mail_dir=tmp_path / "mail")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", handle.uri)
    monkeypatch.setenv("MERIDIAN_OPS_EMAIL", OPS)
    try:
        yield handle
    finally:
        stop(handle)


def raise_alerts(conn) -> None:
    for severity, alert_type, key in [
        ("critical", "test_failure", "t1"),
        ("high", "data_drop", "d1"),
        ("medium", "new_event_type", "n1"),
        ("low", "data_spike", "s1"),
    ]:
        record_alert(conn, Alert(alert_type=alert_type, severity=severity, message=f"{alert_type} happened",
                                 table_name="marts.fct_daily_kpis", tenant_id="acme", as_of_date=AS_OF,
                                 dedup_key=key))
    conn.commit()


def notified(conn) -> dict[str, bool]:
    with conn.cursor() as cur:
        cur.execute("select dedup_key, notified_at is not null from audit.data_quality_alerts")
        rows = dict(cur.fetchall())
    conn.commit()
    return rows


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def test_high_and_critical_alerts_are_mailed_once(conn, sink: SinkHandle) -> None:
    raise_alerts(conn)
    assert notify_alerts(conn, as_of=AS_OF) == 2
    messages = sink.messages()
    assert len(messages) == 1
    message = read(messages[0])
    assert message["X-Sink-Envelope-To"] == OPS and message["To"] == OPS
    assert "2 data-quality alerts (1 critical, 1 high) as of 2026-10-31" in message["Subject"]
    body = message.get_content()
    assert body.index("[critical]") < body.index("[high]")
    assert "test_failure marts.fct_daily_kpis (tenant acme, as of 2026-10-31)" in body
    assert "new_event_type" not in body and "data_spike" not in body
    assert notified(conn) == {"t1": True, "d1": True, "n1": False, "s1": False}

    # a second call (a retried task, the next run) sends nothing more
    assert notify_alerts(conn, as_of=AS_OF) == 0
    assert len(sink.messages()) == 1

    # a new high alert later goes out alone
    record_alert(conn, Alert(alert_type="quarantine", severity="high", message="q", dedup_key="q1"))
    conn.commit()
    assert notify_alerts(conn) == 1
    assert len(sink.messages()) == 2
    assert "#" in read(sink.messages()[1]).get_content() and "quarantine" in read(sink.messages()[1]).get_content()


def test_failed_send_marks_nothing_and_the_retry_sends(conn, sink: SinkHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    raise_alerts(conn)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    with pytest.raises(SendError):
        notify_alerts(conn, as_of=AS_OF, attempts=2, backoff_seconds=0)
    assert not any(notified(conn).values())
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", sink.uri)
    assert notify_alerts(conn, as_of=AS_OF) == 2
    assert len(sink.messages()) == 1


def test_resolved_and_later_alerts_are_not_mailed(conn, sink: SinkHandle) -> None:
    raise_alerts(conn)
    with conn.cursor() as cur:
        cur.execute("update audit.data_quality_alerts set is_resolved = true where dedup_key = 't1'")
        cur.execute("update audit.data_quality_alerts set as_of_date = %s where dedup_key = 'd1'", (date(2026, 11, 5),))
    conn.commit()
    assert notify_alerts(conn, as_of=AS_OF) == 0
    assert sink.messages() == []
    assert notify_alerts(conn, as_of=date(2026, 11, 5)) == 1


# --- pipeline runs -------------------------------------------------------------------------------------------------

class FakeTaskInstance(SimpleNamespace):
    """The attributes of Airflow 3's RuntimeTaskInstance the callbacks read, and xcom_pull."""

    def xcom_pull(self, task_ids: str, key: str, **kwargs):
        assert task_ids == self.task_id and key == "return_value"
        return self.returned


def context(try_number: int = 1, returned=None, exception: BaseException | None = None, **extra) -> dict:
    ti = FakeTaskInstance(
        dag_id="extract_sources", run_id="scheduled__2026-10-31T00:00:00+00:00", task_id="extract_app__users",
        map_index=-1, try_number=try_number, start_date=datetime(2026, 11, 1, 0, 5, tzinfo=UTC),
        end_date=datetime(2026, 11, 1, 0, 6, tzinfo=UTC), returned=returned, **extra,
    )
    return {"ti": ti, "exception": exception}


def run_rows(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("""select task_id, try_number, state, started_at, ended_at, rows_in, rows_out, error
                       from audit.pipeline_runs order by try_number""")
        rows = cur.fetchall()
    conn.commit()
    return rows


def test_callbacks_write_one_row_per_try(conn) -> None:
    callbacks = pipeline_run_callbacks()
    assert set(callbacks) == {"on_execute_callback", "on_success_callback", "on_failure_callback",
                              "on_retry_callback", "on_skipped_callback"}
    first = context(try_number=1, exception=ConnectionError("source_app is down"))
    callbacks["on_execute_callback"](first)
    assert [row[2] for row in run_rows(conn)] == ["running"]
    assert run_rows(conn)[0][4] is None  # no ended_at while running
    callbacks["on_retry_callback"](first)
    second = context(try_number=2, returned={"source": "app", "table_name": "users", "landed": 42})
    callbacks["on_execute_callback"](second)
    callbacks["on_success_callback"](second)
    callbacks["on_success_callback"](second)  # a callback run twice writes the same row

    rows = run_rows(conn)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("extract_app__users", 1, "up_for_retry"), ("extract_app__users", 2, "success")]
    assert rows[0][7] == "ConnectionError: source_app is down" and rows[0][6] is None
    assert rows[1][3] == datetime(2026, 11, 1, 0, 5, tzinfo=UTC) and rows[1][4] == datetime(2026, 11, 1, 0, 6, tzinfo=UTC)
    assert rows[1][5:] == (None, 42, None)


def test_rows_in_and_out_from_the_returned_dict(conn) -> None:
    callbacks = pipeline_run_callbacks()
    callbacks["on_success_callback"](context(returned={"rows_in": 10, "rows_out": 7, "landed": 99}))
    callbacks["on_failure_callback"](context(try_number=2, exception=ValueError("bad")))
    callbacks["on_skipped_callback"](context(try_number=3, returned="not a dict"))
    assert [(r[1], r[2], r[5], r[6], r[7]) for r in run_rows(conn)] == [
        (1, "success", 10, 7, None), (2, "failed", None, None, "ValueError: bad"), (3, "skipped", None, None, None)]


def test_callbacks_never_raise(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"postgres://postgres@127.0.0.1:{free_port()}/warehouse")
    for callback in pipeline_run_callbacks().values():
        callback(context())  # the warehouse is unreachable: logged, not raised
    callback({"not": "a context"})
    assert "could not record" in caplog.text


def test_bootstrap_migrates_a_pipeline_runs_table_keyed_per_task(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("drop table audit.pipeline_runs")
        cur.execute("""create table audit.pipeline_runs (dag_id text not null, run_id text not null,
                       task_id text not null, started_at timestamptz not null, ended_at timestamptz,
                       state text not null, rows_in bigint, rows_out bigint, error text,
                       primary key (dag_id, run_id, task_id))""")
        cur.execute("insert into audit.pipeline_runs values ('d', 'r', 't', now(), null, 'success', 1, 2, null)")
    conn.commit()
    ensure_warehouse(conn)
    ensure_warehouse(conn)  # a second bootstrap changes nothing
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("select pg_get_constraintdef(oid) from pg_constraint "
                    "where conrelid = 'audit.pipeline_runs'::regclass and contype = 'p'")
        assert cur.fetchone()[0] == "PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number)"
        cur.execute("select task_id, map_index, try_number, rows_out from audit.pipeline_runs")
        assert cur.fetchall() == [("t", -1, 1, 2)]
    conn.commit()
    pipeline_run_callbacks()["on_success_callback"](context(try_number=2, returned={"rows_out": 5}))
    assert [(r[1], r[2]) for r in run_rows(conn)] == [(1, "success"), (2, "success")]
