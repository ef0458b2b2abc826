"""The interface other tools rely on: a row inserted by hand is delivered by ``airflow dags test``.

A private PostgreSQL with minimal marts, an aiosmtpd server given by
``AIRFLOW_CONN_SMTP_REPORTS`` (a plain ``smtp://host:port``: no TLS, no login),
and a row of ``reporting.scheduled_reports`` with only the columns a person
must fill. ``airflow dags test deliver_reports 2024-04-01`` delivers what was
due at that date (March 2024) and nothing else; running it again sends nothing
more. Airflow runs in a throwaway AIRFLOW_HOME with a DAGs folder holding only
deliver_reports.py (the other DAGs need a dbt manifest and are not needed here).
"""

from __future__ import annotations

import email
import shutil
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path

import pytest

from meridian import db
from meridian.airflow_env import airflow_env, run_airflow
from meridian.mailsink import start_background, stop
from meridian.warehouse.reporting import ensure_reporting_schema
from tests.conftest import private_warehouse
from tests.unit.test_delivery import create_marts

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_hand_inserted_row_is_delivered_once_by_airflow_dags_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(REPO / "dags" / "deliver_reports.py", dags)
    with private_warehouse("meridian-delivery-airflow-test-"):
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            create_marts(conn)
            ensure_reporting_schema(conn)
            cur.execute(
                """insert into reporting.scheduled_reports (tenant_id, name, recipients, next_run_at) values
                   ('acme', 'Monthly revenue', array['cfo@acme.example.com', 'finance@acme.example.com'],
                    '2024-04-01'),
                   ('globex', 'Not due yet', array['cfo@globex.example.com'], '2024-04-01 00:00:01')
                   returning id"""
            )
            due, not_due = (row[0] for row in cur.fetchall())
        sink = start_background(0, mail_dir=tmp_path / "mail")
        try:
            monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", sink.uri)
            env = airflow_env()
            env.update(
                {
                    "AIRFLOW_HOME": str(tmp_path / "airflow"),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                    "MERIDIAN_OUT_DIR": str(tmp_path / "out"),
                }
            )
            logs = tmp_path / "logs"
            run_airflow(["db", "migrate"], env=env, capture=logs / "db_migrate.log")
            run_airflow(["dags", "test", "deliver_reports", "2024-04-01"], env=env, capture=logs / "first.log")

            assert "deliveries as of 2024-04-01T00:00:00+00:00: {'sent': 1}" in (logs / "first.log").read_text()
            (path,) = sink.messages()
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            assert message["X-Sink-Envelope-To"] == "cfo@acme.example.com, finance@acme.example.com"
            assert message["Subject"] == "Meridian revenue summary — acme — March 2024"
            assert {part.get_filename() for part in message.iter_attachments()} == {
                "revenue_summary_acme_2024-03.pdf", "revenue_summary_acme_2024-03.csv"
            }
            with db.connection("warehouse") as conn, conn.cursor() as cur:
                cur.execute(
                    """select report_id, period_start, status, message_id
                       from reporting.report_deliveries order by report_id"""
                )
                assert cur.fetchall() == [
                    (due, date(2024, 3, 1), "sent", f"<report-{due}-2024-03-01@meridian.local>")
                ]
                cur.execute("select id, last_run_at, next_run_at from reporting.scheduled_reports order by id")
                assert cur.fetchall() == [
                    (due, datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC)),
                    (not_due, None, datetime(2024, 4, 1, 0, 0, 1, tzinfo=UTC)),
                ]
            assert (tmp_path / "out" / "reports" / "acme" / f"report-{due}" / "2024-03").is_dir()

            run_airflow(["dags", "test", "deliver_reports", "2024-04-01"], env=env, capture=logs / "second.log")
            assert len(sink.messages()) == 1
            assert "deliveries as of 2024-04-01T00:00:00+00:00: {}" in (logs / "second.log").read_text()
        finally:
            stop(sink)
