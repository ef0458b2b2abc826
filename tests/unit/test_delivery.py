"""Report delivery against a real PostgreSQL and a real SMTP server (the aiosmtpd sink).

Covers: period semantics, exactly once per (report, period) including the
resend of a 'rendered' row whose content never went out, catch-up oldest
first, validation failures that name the field, raise an alert and do not stop
other reports, SMTP retries, waiting for the marts, and the row lock between
concurrent runs. Kills and broken connections mid-send:
test_delivery_exactly_once.py.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from meridian import db
from meridian.delivery.deliver import deliver_due_reports, run_time, summarize
from meridian.delivery.schema import ensure_delivery_schema
from meridian.delivery.validate import validate_recipients
from meridian.mailsink import SinkHandle, free_port, start_background, stop
from meridian.reports.periods import month_start
from meridian.reports.registry import ReportConfigError
from meridian.smtp import parse_smtp_uri
from tests.conftest import private_warehouse

APRIL_1 = datetime(2024, 4, 1, tzinfo=UTC)
TENANT_MRR = {"acme": Decimal("1000.00"), "globex": Decimal("777000.00")}


def create_marts(conn) -> None:
    """fct_monthly_revenue for Oct 2023 – Mar 2024 and fct_mrr_movements for every month, two tenants."""
    with conn.cursor() as cur:
        cur.execute("drop schema if exists marts cascade")
        cur.execute("create schema marts")
        cur.execute("""
            create table marts.fct_monthly_revenue (
                tenant_id text, revenue_month date, starting_mrr numeric(14,2), new_mrr numeric(14,2),
                expansion_mrr numeric(14,2), reactivation_mrr numeric(14,2), contraction_mrr numeric(14,2),
                churned_mrr numeric(14,2), ending_mrr numeric(14,2), net_new_mrr numeric(14,2), arr numeric(14,2),
                paying_customers int, new_customers int, churned_customers int, reactivated_customers int,
                logo_churn_rate numeric(7,4), gross_mrr_churn_rate numeric(7,4), net_mrr_retention_rate numeric(9,4),
                arpu numeric(14,2), ltv numeric(14,2), gross_revenue numeric(14,2), refunds numeric(14,2),
                net_revenue numeric(14,2), payments_attempted int, payments_succeeded int, refund_count int)
        """)
        cur.execute("""
            create table marts.fct_mrr_movements (tenant_id text, revenue_month date, user_id text,
                mrr numeric(14,2), previous_mrr numeric(14,2), mrr_change numeric(14,2), movement text)
        """)
        for tenant, base in TENANT_MRR.items():
            for index in range(6):
                month = month_start(date(2024, 3, 1), index - 5)
                ending = base + 100 * index
                cur.execute(
                    """insert into marts.fct_monthly_revenue values (%s, %s, %s, 100, 0, 0, 0, 0, %s, 100, %s,
                       10, 1, 0, 0, 0, 0, 1, 100, null, %s, 0, %s, 12, 11, 0)""",
                    (tenant, month, ending - 100, ending, ending * 12, ending, ending),
                )
                cur.execute(
                    "insert into marts.fct_mrr_movements values (%s, %s, %s, 100, 0, 100, 'new')",
                    (tenant, month, f"{tenant}-u{index}"),
                )
    conn.commit()


def empty_delivery_tables() -> None:
    """No scheduled report, delivery or data-quality alert."""
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("truncate reporting.report_deliveries, reporting.scheduled_reports restart identity")
        cur.execute("truncate audit.data_quality_alerts")


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-delivery-test-", create_marts, ensure_delivery_schema) as base:
        yield base


@pytest.fixture
def sink(warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SinkHandle]:
    """A real SMTP server on a free port, empty reporting tables, AIRFLOW_CONN_SMTP_REPORTS pointing at it."""
    empty_delivery_tables()
    handle = start_background(0, mail_dir=tmp_path / "mail")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", handle.uri)
    try:
        yield handle
    finally:
        stop(handle)


def add_report(
    tenant: str = "acme",
    *,
    next_run_at: datetime = APRIL_1,
    frequency: str = "monthly",
    recipients: list[str] | None = None,
    report_type: str = "revenue_summary",
    parameters: str = "{}",
    name: str | None = None,
) -> int:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """insert into reporting.scheduled_reports
                   (tenant_id, name, report_type, frequency, recipients, parameters, next_run_at)
               values (%s, %s, %s, %s, %s, %s::jsonb, %s) returning id""",
            (
                tenant,
                name or f"{tenant} {frequency}",
                report_type,
                frequency,
                recipients or [f"finance@{tenant}.example.com"],
                parameters,
                next_run_at,
            ),
        )
        return cur.fetchone()[0]


def deliveries(report_id: int) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """select period_start, period_end, status, attempts, sent_at is not null, error
               from reporting.report_deliveries where report_id = %s order by period_start""",
            (report_id,),
        )
        return cur.fetchall()


def schedule(report_id: int) -> tuple[datetime | None, datetime]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select last_run_at, next_run_at from reporting.scheduled_reports where id = %s", (report_id,))
        return cur.fetchone()


def mails(handle: SinkHandle) -> list[EmailMessage]:
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in handle.messages()]


def deliver(now: datetime, out: Path, **kwargs):
    return deliver_due_reports(now, out_dir=out, **kwargs)


def test_monthly_report_due_april_1_covers_march_and_goes_out_once(sink, tmp_path):
    report_id = add_report("acme", recipients=["finance@acme.example.com", "ceo@acme.example.com"])
    assert deliver(datetime(2024, 3, 31, 23, 59, tzinfo=UTC), tmp_path) == []  # not due yet

    results = deliver(APRIL_1, tmp_path)
    assert [(r.status, r.period_start, r.period_end) for r in results] == [
        ("sent", date(2024, 3, 1), date(2024, 3, 31))
    ]
    (message,) = mails(sink)
    assert message["Subject"] == "Meridian revenue summary — acme — March 2024"
    assert message["X-Sink-Envelope-To"] == "finance@acme.example.com, ceo@acme.example.com"
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attachments) == {"revenue_summary_acme_2024-03.pdf", "revenue_summary_acme_2024-03.csv"}
    assert attachments["revenue_summary_acme_2024-03.pdf"].get_content().startswith(b"%PDF")
    csv_text = attachments["revenue_summary_acme_2024-03.csv"].get_content()
    if isinstance(csv_text, bytes):
        csv_text = csv_text.decode()
    assert "acme,revenue_summary,2024-03-01,2024-03-31,headline,2024-03-01,ending_mrr,1500.00" in csv_text
    assert "globex" not in csv_text and "777" not in csv_text
    body = message.get_body(("plain",)).get_content()
    assert "MRR" in body and "1,500.00" in body
    html_body = message.get_body(("html",)).get_content()
    assert "MRR" in html_body and "1,500.00" in html_body and "revenue_summary_acme_2024-03.pdf" in html_body
    assert "globex" not in html_body and "777" not in html_body

    assert deliveries(report_id) == [(date(2024, 3, 1), date(2024, 3, 31), "sent", 1, True, None)]
    assert schedule(report_id) == (APRIL_1, datetime(2024, 5, 1, tzinfo=UTC))

    assert deliver(APRIL_1, tmp_path) == []  # the same run again: nothing due
    with db.connection("warehouse") as conn, conn.cursor() as cur:  # a run that died before advancing
        cur.execute("update reporting.scheduled_reports set next_run_at = %s where id = %s", (APRIL_1, report_id))
    assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["already_sent"]
    assert len(sink.messages()) == 1
    assert schedule(report_id)[1] == datetime(2024, 5, 1, tzinfo=UTC)


def alerts() -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select severity, table_name, dedup_key, message from audit.data_quality_alerts order by 1")
        return cur.fetchall()


def test_rendered_row_whose_content_never_went_out_is_sent_once(sink, tmp_path):
    """A claimed row (data_sent_at null) left by an attempt killed before the content went out."""
    report_id = add_report("acme")
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(
            """insert into reporting.report_deliveries (report_id, period_start, period_end, status, attempts)
               values (%s, '2024-03-01', '2024-03-31', 'rendered', 1)""",
            (report_id,),
        )
    assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["sent"]
    assert deliveries(report_id) == [(date(2024, 3, 1), date(2024, 3, 31), "sent", 2, True, None)]
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("update reporting.scheduled_reports set next_run_at = %s where id = %s", (APRIL_1, report_id))
    assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["already_sent"]
    assert len(sink.messages()) == 1


def test_three_missed_months_are_caught_up_oldest_first(sink, tmp_path):
    report_id = add_report("acme", next_run_at=datetime(2024, 1, 1, tzinfo=UTC))
    results = deliver(datetime(2024, 3, 20, 12, 0, tzinfo=UTC), tmp_path)
    assert [(r.status, r.period_start) for r in results] == [
        ("sent", date(2023, 12, 1)),
        ("sent", date(2024, 1, 1)),
        ("sent", date(2024, 2, 1)),
    ]
    months = [message["Subject"].rsplit("— ", 1)[1] for message in mails(sink)]
    assert months == ["December 2023", "January 2024", "February 2024"]
    assert schedule(report_id) == (datetime(2024, 3, 1, tzinfo=UTC), APRIL_1)
    assert [row[2] for row in deliveries(report_id)] == ["sent"] * 3


def test_catch_up_is_capped_per_call_and_continues_next_run(sink, tmp_path):
    report_id = add_report("acme", next_run_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert len(deliver(APRIL_1, tmp_path, max_periods_per_report=2)) == 2
    assert [r.period_start for r in deliver(APRIL_1, tmp_path)] == [date(2024, 2, 1), date(2024, 3, 1)]
    assert len(deliveries(report_id)) == 4 and len(sink.messages()) == 4


@pytest.mark.parametrize(
    ("frequency", "due", "start", "end"),
    [
        ("weekly", APRIL_1, date(2024, 3, 25), date(2024, 3, 31)),
        ("daily", datetime(2024, 3, 31, tzinfo=UTC), date(2024, 3, 30), date(2024, 3, 30)),
    ],
)
def test_weekly_and_daily_periods(sink, tmp_path, frequency, due, start, end):
    report_id = add_report("acme", frequency=frequency, next_run_at=due)
    assert [(r.period_start, r.period_end) for r in deliver(due, tmp_path)] == [(start, end)]
    assert deliveries(report_id)[0][:3] == (start, end, "sent")


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("recipients", ["finance@acme.example.com", "not-an-email"], "invalid recipients: 'not-an-email'"),
        ("parameters", '{"trend_months": 99}', "invalid parameters.trend_months"),
        ("recipients", ["Finance <finance@acme.example.com>"], "invalid recipients: 'Finance <finance@acme"),
        ("parameters", '{"trend_months": 99}', "invalid parameters.trend_months"),
        ("parameters", '{"colour": "red"}', "invalid parameters.colour: is not a parameter"),
        ("parameters", "[1, 2]", "invalid parameters: must be a JSON object"),
        ("tenant", " ", "invalid tenant_id: is empty"),
    ],
)
def test_invalid_report_fails_with_the_field_named_and_others_go_out(sink, tmp_path, column, value, fragment):
    bad = add_report(value, name="acme monthly") if column == "tenant" else add_report("acme", **{column: value})
    good = add_report("globex")
    results = {r.report_id: r for r in deliver(APRIL_1, tmp_path)}
    assert results[good].status == "sent"
    assert results[bad].status == "failed" and fragment in results[bad].error and not results[bad].retryable
    ((_, _, status, attempts, sent, error),) = deliveries(bad)
    assert (status, attempts, sent) == ("failed", 0, False) and fragment in error
    assert schedule(bad) == (None, APRIL_1)  # stays due until fixed
    (message,) = mails(sink)
    assert message["X-Sink-Envelope-To"] == "finance@globex.example.com"
    ((severity, table, key, text),) = alerts()
    assert (severity, table, key) == ("high", "reporting.report_deliveries", f"delivery:{bad}:2024-03-01")
    assert fragment in text and "March 2024" in text and "acme monthly" in text

    if column == "recipients":  # fixed: the missed period goes out on the next run
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute(
                "update reporting.scheduled_reports set recipients = array['finance@acme.example.com'] where id = %s",
                (bad,),
            )
        assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["sent"]
        assert deliveries(bad)[0][2:5] == ("sent", 1, True)


def test_smtp_failure_is_retried_with_backoff_then_failed_and_resent_later(sink, tmp_path, monkeypatch):
    report_id = add_report("acme")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    (result,) = deliver(APRIL_1, tmp_path, smtp_attempts=3, smtp_backoff_seconds=0.01)
    assert (result.status, result.attempts, result.retryable) == ("failed", 3, True)
    assert "failed 3 times" in result.error
    assert deliveries(report_id)[0][2:5] == ("failed", 3, False)
    assert schedule(report_id) == (None, APRIL_1)
    assert summarize([result])["retryable_failures"] == 1

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", sink.uri)
    assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["sent"]
    assert deliveries(report_id)[0][2:5] == ("sent", 4, True)
    assert len(sink.messages()) == 1


def test_report_waits_until_the_marts_cover_the_period(sink, tmp_path):
    report_id = add_report("acme")
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("create table marts.fct_daily_kpis (tenant_id text, kpi_date date)")
        cur.execute("insert into marts.fct_daily_kpis values ('acme', '2024-03-30'), ('globex', '2024-03-31')")
    try:
        (result,) = deliver(APRIL_1, tmp_path)
        assert result.status == "waiting" and "2024-03-30" in result.error
        assert deliveries(report_id) == [] and sink.messages() == []
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("insert into marts.fct_daily_kpis values ('acme', '2024-03-31')")
        assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["sent"]
    finally:
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("drop table marts.fct_daily_kpis")


def test_a_report_locked_by_another_run_is_skipped(sink, tmp_path):
    report_id = add_report("acme")
    other_run = db.connect("warehouse")
    try:
        with other_run.cursor() as cur:
            cur.execute("select 1 from reporting.scheduled_reports where id = %s for no key update", (report_id,))
        assert deliver(APRIL_1, tmp_path) == []
    finally:
        other_run.rollback()
        other_run.close()
    assert [r.status for r in deliver(APRIL_1, tmp_path)] == ["sent"]


def test_run_time_uses_the_data_interval_end_else_logical_date_else_run_after():
    logical, run_after = datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 4, 1, 0, 7, tzinfo=UTC)
    assert run_time(logical, run_after, logical) == logical
    assert run_time(logical, run_after) == logical
    assert run_time(None, run_after) == run_after
    with pytest.raises(ValueError):
        run_time(None, None)


@pytest.mark.parametrize(
    "address",
    ["a@x.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie", "x_y-z@mail-host.example.org"],
)
def test_valid_recipients(address):
    assert validate_recipients([f"  {address} ", address]) == [address]


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email", "a@b", "a@@x.com", "a@x..com", ".a@x.com", "a.@x.com", "a..b@x.com", "a b@x.com",
        "a@-x.com", "a@x.c", "Finance <a@x.com>", "a@x.com,b@x.com", "", f"{'a' * 65}@x.com", None, 42,
    ],
)
def test_invalid_recipients_are_rejected_naming_the_item(address):
    with pytest.raises(ReportConfigError) as raised:
        validate_recipients(["ok@x.com", address])
    assert raised.value.field == "recipients" and "(item 2)" in raised.value.message


def test_no_recipients_is_rejected():
    with pytest.raises(ReportConfigError, match="recipients: is empty"):
        validate_recipients([])


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("smtp://127.0.0.1:8025", ("127.0.0.1", 8025, False, "auto", None)),
        (
            "smtp://user:p%40ss@relay.example.com:587?disable_tls=false&from_email=r%40x.example.com",
            ("relay.example.com", 587, False, "always", "user"),
        ),
        ("smtp://relay.example.com:465", ("relay.example.com", 465, True, "never", None)),
        (
            '{"conn_type": "smtp", "host": "mailpit", "port": 1025, "extra": {"disable_tls": true}}',
            ("mailpit", 1025, False, "never", None),
        ),
    ],
)
def test_smtp_connection_uri(uri, expected):
    settings = parse_smtp_uri(uri, "test")
    assert (settings.host, settings.port, settings.use_ssl, settings.starttls, settings.login) == expected
