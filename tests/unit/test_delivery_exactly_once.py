"""One e-mail per (report, period), under one Message-ID, when a delivery is killed, retried or cut off mid-send.

A real PostgreSQL of this module's own and a real SMTP server (aiosmtpd) whose
handler can misbehave on cue: kill the delivering process (SIGKILL) while it
waits for the reply to RCPT or to the message content, answer the content
with a 4xx, or store the message and then stay silent past the client's
timeout. Each test counts the messages the server really stored: none is
lost, and a message the server may already hold is only ever sent again under
its first Message-ID, and recorded sent once.
"""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import meridian.delivery.deliver as delivery_module
import meridian.smtp as mail
from meridian import db
from meridian.cli import main
from meridian.delivery.deliver import deliver_due_reports
from meridian.delivery.schema import ensure_delivery_schema
from meridian.mailsink import free_port
from tests.conftest import private_warehouse
from tests.unit.test_delivery import add_report, create_marts, empty_delivery_tables, schedule

APRIL_1 = datetime(2024, 4, 1, tzinfo=UTC)
MAY_1 = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass
class Server:
    """What the SMTP server stored, and what it does on the next RCPT / content."""

    stored: list[EmailMessage] = field(default_factory=list)
    content_replies: list[str] = field(default_factory=list)  # one reply per content received; then 250
    on_rcpt: Callable[[], Any] | None = None
    on_content: Callable[[], Any] | None = None  # after storing, before replying; may be a coroutine function

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if self.on_rcpt is not None:
            self.on_rcpt()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        reply = self.content_replies.pop(0) if self.content_replies else "250 Message accepted"
        if reply.startswith("250"):
            message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            message["X-Test-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.stored.append(message)
        if self.on_content is not None:
            outcome = self.on_content()
            if asyncio.iscoroutine(outcome):
                await outcome
        return reply


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-delivery-once-test-", create_marts, ensure_delivery_schema) as base:
        yield base


@pytest.fixture
def server(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """Empty reporting and alert tables; the SMTP server on a free port (0.5 s client timeout)."""
    empty_delivery_tables()
    handler = Server()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", f"smtp://127.0.0.1:{port}?timeout=0.5")
    try:
        yield handler
    finally:
        controller.stop()


def delivery(report_id: int) -> tuple:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """select status, attempts, data_sent_at is not null, sent_at is not null, message_id, error
               from reporting.report_deliveries where report_id = %s""",
            (report_id,),
        )
        return cur.fetchone()


def alerts() -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """select alert_type, table_name, severity, tenant_id, as_of_date, dedup_key, message
               from audit.data_quality_alerts order by alert_id"""
        )
        return cur.fetchall()


def deliver_in_subprocess(tmp_path: Path) -> subprocess.Popen:
    """deliver_due_reports(2024-04-01) in its own process (same environment), to be killed."""
    code = (
        "import sys; from datetime import UTC, datetime; "
        "from meridian.delivery.deliver import deliver_due_reports; "
        "deliver_due_reports(datetime(2024, 4, 1, tzinfo=UTC), out_dir=sys.argv[1], smtp_backoff_seconds=0)"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "out")], env=dict(os.environ))


def killer(holder: dict) -> Callable[[], None]:
    def kill() -> None:
        os.kill(holder["process"].pid, signal.SIGKILL)

    return kill


def wait_until_the_dead_session_is_gone() -> None:
    """PostgreSQL ends the killed process's session (and its row lock) when it sees the socket close."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute(
                """select count(*) from pg_stat_activity
                   where datname = 'warehouse' and backend_type = 'client backend' and pid <> pg_backend_pid()"""
            )
            if cur.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the killed delivery's database sessions are still open")


def run_killed(server: Server, tmp_path: Path, *, at: str) -> None:
    holder: dict = {}
    if at == "rcpt":
        server.on_rcpt = killer(holder)
    else:
        server.on_content = killer(holder)
    holder["process"] = deliver_in_subprocess(tmp_path)
    assert holder["process"].wait(timeout=60) == -signal.SIGKILL
    server.on_rcpt = server.on_content = None
    wait_until_the_dead_session_is_gone()


def data_sends(report_id: int) -> int:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select data_sends from reporting.report_deliveries where report_id = %s", (report_id,))
        return cur.fetchone()[0]


def test_killed_after_the_content_went_out_is_resent_under_the_same_message_id(server, tmp_path, monkeypatch):
    report_id = add_report("acme")
    run_killed(server, tmp_path, at="content")  # the server stored it; the process died before hearing 250
    assert len(server.stored) == 1
    status, _, data_sent, sent, message_id, _ = delivery(report_id)
    assert (status, data_sent, sent) == ("rendered", True, False)
    assert message_id == f"<report-{report_id}-2024-03-01@meridian.local>" == server.stored[0]["Message-ID"]
    assert data_sends(report_id) == 1

    # the sender's address changed meanwhile: the Message-ID stored with the row still wins
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", os.environ["AIRFLOW_CONN_SMTP_REPORTS"]
                       + "&from_email=reports%40elsewhere.example")
    # the task's retry (or the next run) sends it again, under the same Message-ID, and records it sent once
    (result,) = deliver_due_reports(APRIL_1, out_dir=tmp_path / "out")
    assert (result.status, result.resent, result.retryable) == ("sent", True, False)
    assert message_id in result.error and "handed to the SMTP server 2 times" in result.error
    assert [message["Message-ID"] for message in server.stored] == [message_id, message_id]
    assert server.stored[1]["From"] == "reports@elsewhere.example"
    assert delivery(report_id)[:5] == ("sent", 1, True, True, message_id)
    assert data_sends(report_id) == 2
    assert schedule(report_id) == (APRIL_1, MAY_1)  # the schedule moves on
    assert alerts() == []

    # every later run: nothing due, nothing sent
    assert deliver_due_reports(APRIL_1, out_dir=tmp_path / "out") == []
    assert len(server.stored) == 2


def test_a_person_who_found_the_first_copy_can_mark_it_sent_before_the_next_run(server, tmp_path, capsys):
    report_id = add_report("acme")
    run_killed(server, tmp_path, at="content")
    assert main(["reports", "resolve", str(report_id), "--period", "2024-03", "--mark-sent"]) == 0
    assert "marked sent" in capsys.readouterr().out
    assert delivery(report_id)[:4] == ("sent", 0, True, True)
    assert [r.status for r in deliver_due_reports(APRIL_1, out_dir=tmp_path / "out")] == ["already_sent"]
    assert schedule(report_id) == (APRIL_1, MAY_1)
    assert len(server.stored) == 1


def test_killed_before_the_content_went_out_is_sent_exactly_once(server, tmp_path):
    report_id = add_report("acme", recipients=["finance@acme.example.com", "ceo@acme.example.com"])
    run_killed(server, tmp_path, at="rcpt")
    assert server.stored == []
    assert delivery(report_id)[:4] == ("rendered", 0, False, False)  # claimed, content never went out

    (result,) = deliver_due_reports(APRIL_1, out_dir=tmp_path / "out")
    assert result.status == "sent"
    assert deliver_due_reports(APRIL_1, out_dir=tmp_path / "out") == []  # a retried task: nothing due
    (message,) = server.stored
    assert message["X-Test-Envelope-To"] == "finance@acme.example.com, ceo@acme.example.com"
    assert message["Subject"] == "Meridian revenue summary — acme — March 2024"
    assert {part.get_filename() for part in message.iter_attachments()} == {
        "revenue_summary_acme_2024-03.pdf", "revenue_summary_acme_2024-03.csv"
    }
    assert delivery(report_id)[:4] == ("sent", 1, True, True)
    assert alerts() == []


def test_connection_lost_after_the_content_is_retried_under_the_same_message_id(server, tmp_path):
    report_id = add_report("acme")
    replies: list[float] = [1.5]  # the first copy: stored, then silent past the client's 0.5 s timeout
    server.on_content = lambda: asyncio.sleep(replies.pop(0) if replies else 0)
    (result,) = deliver_due_reports(APRIL_1, out_dir=tmp_path / "out", smtp_attempts=3, smtp_backoff_seconds=0)
    server.on_content = None
    assert (result.status, result.attempts, result.resent) == ("sent", 2, True)
    (first, second) = server.stored
    assert first["Message-ID"] == second["Message-ID"] == delivery(report_id)[4]
    assert delivery(report_id)[:4] == ("sent", 2, True, True)
    assert data_sends(report_id) == 2
    assert alerts() == []


def test_connection_lost_on_every_attempt_is_failed_and_resent_by_the_next_run(server, tmp_path, capsys):
    report_id = add_report("acme")
    server.on_content = lambda: asyncio.sleep(1.5)  # stored, then silent past the client's 0.5 s timeout
    (result,) = deliver_due_reports(APRIL_1, out_dir=tmp_path / "out", smtp_attempts=1, smtp_backoff_seconds=0)
    server.on_content = None
    message_id = delivery(report_id)[4]
    assert (result.status, result.attempts, result.retryable) == ("failed", 1, True)
    assert "may have accepted it" in result.error and f"same Message-ID {message_id}" in result.error
    assert len(server.stored) == 1
    assert delivery(report_id)[:4] == ("failed", 1, True, False)
    assert [alert[5] for alert in alerts()] == [f"delivery:{report_id}:2024-03-01"]
    assert schedule(report_id) == (None, APRIL_1)  # held at the period until it is sent

    # `resolve --resend` is accepted too (the next run would resend it anyway): same Message-ID
    assert main(["reports", "resolve", str(report_id), "--period", "2024-03", "--resend"]) == 0
    assert "sent again" in capsys.readouterr().out
    assert [r.status for r in deliver_due_reports(APRIL_1, out_dir=tmp_path / "out")] == ["sent"]
    assert len(server.stored) == 2
    assert server.stored[0]["Message-ID"] == server.stored[1]["Message-ID"] == message_id
    assert delivery(report_id)[:4] == ("sent", 2, True, True)
    assert schedule(report_id) == (APRIL_1, MAY_1)


def test_a_4xx_reply_to_the_content_is_retried_with_backoff(server, tmp_path):
    report_id = add_report("acme")
    server.content_replies = ["451 4.3.0 try again later"]
    (result,) = deliver_due_reports(APRIL_1, out_dir=tmp_path / "out", smtp_attempts=3, smtp_backoff_seconds=0)
    assert (result.status, result.attempts) == ("sent", 2)
    assert len(server.stored) == 1
    assert delivery(report_id)[:4] == ("sent", 2, True, True)


def test_smtp_failing_every_attempt_is_failed_alerted_and_sent_by_a_later_run(server, tmp_path, monkeypatch):
    report_id = add_report("acme")
    server.content_replies = ["451 4.3.0 busy"] * 3
    waits: list[float] = []
    with monkeypatch.context() as patch:
        patch.setattr(delivery_module, "send_message", partial(mail.send_message, sleep=waits.append))
        (result,) = deliver_due_reports(APRIL_1, out_dir=tmp_path / "out", smtp_attempts=3, smtp_backoff_seconds=2)
    assert waits == [2, 4]  # exponential backoff between the three attempts
    assert (result.status, result.attempts, result.retryable, result.resent) == ("failed", 3, True, False)
    assert delivery(report_id)[:4] == ("failed", 3, False, False)  # refused with a reply: known not accepted
    ((kind, table, severity, tenant, _, key, text),) = alerts()
    assert (kind, table, severity, tenant, key) == (
        "missing_data", "reporting.report_deliveries", "high", "acme", f"delivery:{report_id}:2024-03-01"
    )
    assert "451" in text and "March 2024" in text
    assert server.stored == []

    assert [r.status for r in deliver_due_reports(APRIL_1, out_dir=tmp_path / "out")] == ["sent"]
    assert len(server.stored) == 1
    assert len(alerts()) == 1


def test_resolve_refuses_what_it_cannot_settle(server, tmp_path, capsys):
    report_id = add_report("acme")
    assert main(["reports", "resolve", str(report_id), "--period", "2024-03", "--mark-sent"]) == 2
    assert "has no delivery for March 2024" in capsys.readouterr().err
    server.content_replies = ["451 busy"]
    deliver_due_reports(APRIL_1, out_dir=tmp_path / "out", smtp_attempts=1)
    assert main(["reports", "resolve", str(report_id), "--period", "2024-03", "--mark-sent"]) == 2
    assert "never reached the SMTP server" in capsys.readouterr().err
    deliver_due_reports(APRIL_1, out_dir=tmp_path / "out")
    assert main(["reports", "resolve", str(report_id), "--period", "2024-03", "--resend"]) == 2
    assert "was sent already" in capsys.readouterr().err
    assert len(server.stored) == 1
