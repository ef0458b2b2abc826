"""``meridian reports``: create/list/pause/resume, validation, ad hoc render and run-now, end to end.

A PostgreSQL of this module's own with the minimal marts of test_reports (March 2024 for acme and
globex), their organizations landed in raw (the tenants the commands accept) and a real SMTP server
(the aiosmtpd sink) for run-now.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest

from meridian import db
from meridian.cli import main
from meridian.delivery.adhoc import parse_period
from meridian.delivery.manage import next_period_boundary
from meridian.mailsink import SinkHandle, start_background, stop
from meridian.warehouse.bootstrap import ensure_warehouse
from meridian.warehouse.reporting import ensure_reporting_schema
from tests.conftest import private_warehouse
from tests.unit.test_reports import create_marts


@contextmanager
def reports_warehouse(prefix: str) -> Iterator[Path]:
    """A private warehouse with the marts the reports read, the reporting schema and two landed tenants."""
    with private_warehouse(prefix, create_marts, ensure_warehouse, ensure_reporting_schema,
                           lambda conn: land_organizations(conn, ORGANIZATIONS)) as base:
        yield base


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with reports_warehouse("meridian-reports-cli-test-") as base:
        yield base


ORGANIZATIONS = ("acme", "globex")


def land_organizations(conn, tenants) -> None:
    """Organizations as extract_sources lands them (one batch)."""
    with conn.cursor() as cur:
        for tenant in tenants:
            cur.execute(
                """insert into raw.app__organizations (id, tenant_id, name, currency, created_at, updated_at,
                                                      _batch_id, _loaded_at)
                   values (%s, %s, %s, 'USD', '2024-01-01', '2024-01-01', 1, '2024-01-02')""",
                (tenant, tenant, tenant.title()),
            )
    conn.commit()


@pytest.fixture
def clean(warehouse: Path) -> Path:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("truncate reporting.report_deliveries, reporting.scheduled_reports restart identity")
    return warehouse


@pytest.fixture
def sink(clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SinkHandle]:
    handle = start_background(port=0, mail_dir=tmp_path / "mail")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", handle.uri)
    try:
        yield handle
    finally:
        stop(handle)


def row(report_id: int) -> tuple:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """select tenant_id, name, report_type, frequency, formats, recipients, parameters, next_run_at,
                      is_active, updated_at
               from reporting.scheduled_reports where id = %s""",
            (report_id,),
        )
        return cur.fetchone()


def count_reports() -> int:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select count(*) from reporting.scheduled_reports")
        return cur.fetchone()[0]


CREATE = [
    "reports", "create", "--tenant", "acme", "--name", "Monthly revenue", "--type", "revenue_summary",
    "--frequency", "monthly", "--formats", "pdf,csv", "--recipients", "a@x.com,b@y.com",
]


def create(capsys, *extra: str) -> int:
    assert main([*CREATE, *extra]) == 0
    return int(capsys.readouterr().out.strip())


def test_create_list_pause_resume_round_trip(clean, capsys):
    report_id = create(capsys, "--parameters", '{"trend_months": 6}', "--first-run", "2026-11-01")
    tenant, name, kind, frequency, formats, recipients, parameters, next_run_at, active, updated = row(report_id)
    assert (tenant, name, kind, frequency) == ("acme", "Monthly revenue", "revenue_summary", "monthly")
    assert formats == ["pdf", "csv"] and recipients == ["a@x.com", "b@y.com"]
    assert parameters == {"trend_months": 6}
    assert next_run_at == datetime(2026, 11, 1, tzinfo=UTC) and active

    other = create(capsys, "--tenant", "globex")
    assert main(["reports", "list"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["id", "tenant", "name", "type", "frequency", "formats", "recipients", "next_run_at", "active"]
    assert "a@x.com,b@y.com" in out and "2026-11-01 00:00 UTC" in out and "globex" in out

    assert main(["reports", "list", "--tenant", "acme"]) == 0
    out = capsys.readouterr().out
    assert "acme" in out and "globex" not in out

    assert main(["reports", "pause", str(report_id)]) == 0
    assert "paused" in capsys.readouterr().out
    assert row(report_id)[8] is False and row(report_id)[9] > updated
    assert main(["reports", "list"]) == 0  # paused reports only with --all
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == [str(other)]
    assert main(["reports", "list", "--all"]) == 0
    out = capsys.readouterr().out
    assert f"\n{report_id} " in out and "paused" in out

    paused_at = row(report_id)[9]
    assert main(["reports", "resume", str(report_id)]) == 0
    assert "active" in capsys.readouterr().out
    assert row(report_id)[8] is True and row(report_id)[9] > paused_at
    assert row(report_id)[7] == datetime(2026, 11, 1, tzinfo=UTC)  # resume does not move the schedule


def test_default_first_run_is_the_next_period_boundary(clean, capsys):
    report_id = create(capsys)
    assert row(report_id)[7] == next_period_boundary(datetime.now(UTC), "monthly")
    assert next_period_boundary(datetime(2026, 10, 15, 9, tzinfo=UTC), "monthly") == datetime(2026, 11, 1, tzinfo=UTC)
    assert next_period_boundary(datetime(2026, 11, 1, tzinfo=UTC), "monthly") == datetime(2026, 12, 1, tzinfo=UTC)
    assert next_period_boundary(datetime(2026, 10, 15, 9, tzinfo=UTC), "daily") == datetime(2026, 10, 16, tzinfo=UTC)
    # 2026-10-15 is a Thursday; weekly reports are due on Mondays
    assert next_period_boundary(datetime(2026, 10, 15, 9, tzinfo=UTC), "weekly") == datetime(2026, 10, 19, tzinfo=UTC)
    assert next_period_boundary(datetime(2026, 10, 19, tzinfo=UTC), "weekly") == datetime(2026, 10, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    "option, value, field, fragment",
    [
        ("--type", "revenue_sumary", "report_type", "'revenue_sumary'"),
        ("--frequency", "hourly", "frequency", "'hourly'"),
        ("--formats", "pdf,docx", "formats", "'docx'"),
        ("--recipients", "a@x.com,not-an-address", "recipients", "'not-an-address'"),
        ("--recipients", "a@x.com,b@x..com", "recipients", "'b@x..com' (item 2)"),
        ("--parameters", "{trend_months: 6}", "parameters", "{trend_months: 6}"),
        ("--parameters", "[1, 2]", "parameters", "JSON object"),
        ("--parameters", '{"trend_months": 99}', "parameters.trend_months", "99"),
        ("--parameters", '{"colour": "red"}', "parameters.colour", "not a parameter"),
        ("--first-run", "next tuesday", "first_run", "'next tuesday'"),
        ("--tenant", " ", "tenant_id", "empty"),
    ],
)
def test_create_rejects_bad_fields_before_inserting(clean, capsys, option, value, field, fragment):
    assert main([*CREATE, option, value]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"invalid {field}:" in captured.err and fragment in captured.err
    assert count_reports() == 0


@pytest.mark.parametrize("action", ["pause", "resume", "run-now", "resolve"])
def test_unknown_id_is_a_clear_error(clean, capsys, action):
    extra = ["--period", "2024-03", "--resend"] if action == "resolve" else []
    assert main(["reports", action, "999", *extra]) == 2
    assert "no scheduled report with id 999" in capsys.readouterr().err


def test_render_writes_every_format_and_records_nothing(clean, capsys, tmp_path):
    out = tmp_path / "adhoc"
    assert main(["reports", "render", "--tenant", "globex", "--period", "2024-03", "--out", str(out)]) == 0
    paths = [Path(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(path.suffix for path in paths) == [".csv", ".html", ".pdf", ".xlsx"]
    assert all(path.parent == out and path.stat().st_size > 0 for path in paths)
    assert all("revenue_summary_globex_2024-03" in path.name for path in paths)
    assert "777" in next(path for path in paths if path.suffix == ".csv").read_text()  # globex's numbers
    assert count_reports() == 0


def test_render_names_a_bad_period(clean, capsys, tmp_path):
    assert main(["reports", "render", "--tenant", "acme", "--period", "March", "--out", str(tmp_path)]) == 2
    assert "invalid period:" in capsys.readouterr().err
    assert parse_period("2024-03", "monthly").start.isoformat() == "2024-03-01"
    weekly = parse_period("2024-03-25", "weekly")
    assert (weekly.start.isoformat(), weekly.end.isoformat()) == ("2024-03-25", "2024-03-31")


def mails(handle: SinkHandle) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in handle.messages()]


def test_run_now_sends_the_due_period_once_through_the_delivery_path(sink, capsys, tmp_path):
    report_id = create(capsys, "--first-run", "2024-04-01")
    other = create(capsys, "--tenant", "globex", "--first-run", "2024-04-01")  # due too, but not asked for
    out = tmp_path / "out"

    assert main(["reports", "run-now", str(report_id), "--as-of", "2024-04-01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report {report_id} (acme) 2024-03-01..2024-03-31: sent to a@x.com, b@y.com" in printed
    sent = mails(sink)
    assert len(sent) == 1
    assert {address.addr_spec for address in sent[0]["To"].addresses} == {"a@x.com", "b@y.com"}
    assert row(report_id)[7] == datetime(2024, 5, 1, tzinfo=UTC)  # moved on by one period, not to "now"
    assert row(other)[7] == datetime(2024, 4, 1, tzinfo=UTC)  # the other report was left alone

    # the same period again: nothing is due, nothing sent
    assert main(["reports", "run-now", str(report_id), "--as-of", "2024-04-01", "--out", str(out)]) == 0
    assert "nothing due" in capsys.readouterr().out
    assert len(mails(sink)) == 1

    # even with the schedule put back, the recorded delivery stops a second send
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("update reporting.scheduled_reports set next_run_at = '2024-04-01' where id = %s", (report_id,))
    assert main(["reports", "run-now", str(report_id), "--as-of", "2024-04-01", "--out", str(out)]) == 0
    assert "already_sent" in capsys.readouterr().out
    assert len(mails(sink)) == 1
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select report_id, status from reporting.report_deliveries order by report_id")
        assert cur.fetchall() == [(report_id, "sent")]


def test_run_now_refuses_a_paused_report(sink, capsys):
    report_id = create(capsys, "--first-run", "2024-04-01")
    assert main(["reports", "pause", str(report_id)]) == 0
    capsys.readouterr()
    assert main(["reports", "run-now", str(report_id), "--as-of", "2024-04-01"]) == 2
    err = capsys.readouterr().err
    assert "invalid is_active:" in err and "is paused" in err
    assert mails(sink) == []
