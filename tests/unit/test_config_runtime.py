"""Configuration and run semantics: connection resolution, as-of dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from meridian import config
from meridian.runtime import AsOfError, as_of_date, as_of_instant, covered_date, parse_instant


def test_env_connection_wins_over_embedded_default(monkeypatch, tmp_path):
    monkeypatch.setenv("MERIDIAN_STATE_DIR", str(tmp_path))
    for conn_id in [*config.EMBEDDED_DATABASES, config.SMTP_CONN_ID]:
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SOURCE_CRM", "postgres://u:p@db.internal:5432/crm")
    monkeypatch.delenv("AIRFLOW_CONN_SOURCE_APP", raising=False)
    monkeypatch.setenv("MERIDIAN_PG_PORT", "6543")
    assert config.postgres_dsn("source_crm") == "postgres://u:p@db.internal:5432/crm"
    dsn = config.postgres_dsn("source_app")
    password = (tmp_path / "pg-password").read_text().strip()
    assert dsn == f"postgres://postgres:{password}@127.0.0.1:6543/app"
    filled = config.connection_env()
    assert "AIRFLOW_CONN_SOURCE_CRM" not in filled
    assert filled["AIRFLOW_CONN_WAREHOUSE"].endswith("127.0.0.1:6543/warehouse")


def test_unknown_connection_id_is_named():
    with pytest.raises(KeyError, match="unknown connection id 'nope'"):
        config.embedded_uri("nope")


def test_bad_port_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("MERIDIAN_PG_PORT", "five")
    with pytest.raises(ValueError, match="MERIDIAN_PG_PORT='five'"):
        config.settings()


def test_as_of_is_the_end_of_the_data_interval():
    # a scheduled (or `airflow dags test DAG 2024-03-31`) run at midnight covers the day before
    context = {"logical_date": datetime(2024, 3, 31, 0, 0, tzinfo=UTC),
               "data_interval_end": datetime(2024, 3, 31, 0, 0, tzinfo=UTC)}
    assert as_of_instant(context) == datetime(2024, 3, 31, tzinfo=UTC)
    assert as_of_date(context) == date(2024, 3, 30)


@pytest.mark.parametrize(
    ("conf_as_of", "instant", "day"),
    [
        ("2026-10-31T14:00:05Z", datetime(2026, 10, 31, 14, 0, 5, tzinfo=UTC), date(2026, 10, 31)),
        ("2026-10-31T16:00:05+02:00", datetime(2026, 10, 31, 14, 0, 5, tzinfo=UTC), date(2026, 10, 31)),
        ("2026-10-31 14:00", datetime(2026, 10, 31, 14, tzinfo=UTC), date(2026, 10, 31)),  # naive = UTC
        ("2026-10-31", datetime(2026, 11, 1, tzinfo=UTC), date(2026, 10, 31)),  # a date: its whole day
        ("2019-05-01T00:00:00Z", datetime(2019, 5, 1, tzinfo=UTC), date(2019, 4, 30)),  # before start_date
    ],
)
def test_conf_as_of_wins_over_the_data_interval(conf_as_of, instant, day):
    context = {"data_interval_end": datetime(2026, 12, 5, tzinfo=UTC),
               "dag_run": SimpleNamespace(conf={"as_of": conf_as_of}, run_after=None)}
    assert as_of_instant(context) == instant
    assert as_of_date(context) == day


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "1999-12-31T23:00:00Z", "2101-01-02", "31/10/2026"])
def test_a_bad_conf_as_of_is_named(bad):
    context = {"dag_run": SimpleNamespace(conf={"as_of": bad}, run_after=None)}
    with pytest.raises(AsOfError, match="conf as_of"):
        as_of_instant(context)


def test_covered_date_is_the_date_of_the_last_covered_instant():
    assert covered_date(datetime(2026, 11, 1, tzinfo=UTC)) == date(2026, 10, 31)
    assert covered_date(datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC)) == date(2026, 11, 1)
    assert parse_instant("2026-11-01T00:00:00.000001Z") == datetime(2026, 11, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_asset_triggered_run_takes_the_as_of_from_the_event():
    events = {"raw": [SimpleNamespace(extra={"as_of_date": "2024-03-30"}),
                      SimpleNamespace(extra={"as_of": "2024-03-31T09:30:00+00:00", "as_of_date": "2024-03-31"})]}
    context = {"logical_date": None, "triggering_asset_events": events,
               "dag_run": SimpleNamespace(run_after=datetime(2024, 4, 5, tzinfo=UTC))}
    assert as_of_instant(context) == datetime(2024, 3, 31, 9, 30, tzinfo=UTC)
    assert as_of_date(context) == date(2024, 3, 31)


def test_without_logical_date_or_event_the_run_after_date_is_used():
    context = {"logical_date": None, "dag_run": SimpleNamespace(run_after=datetime(2024, 4, 5, 3, tzinfo=UTC))}
    assert as_of_date(context) == date(2024, 4, 5)
