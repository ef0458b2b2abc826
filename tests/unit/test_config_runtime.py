"""Configuration and run semantics: connection resolution, as-of dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from meridian import config
from meridian.runtime import as_of_date


def test_env_connection_wins_over_embedded_default(monkeypatch):
    for conn_id in [*config.EMBEDDED_DATABASES, config.SMTP_CONN_ID]:
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SOURCE_CRM", "postgres://u:p@db.internal:5432/crm")
    monkeypatch.delenv("AIRFLOW_CONN_SOURCE_APP", raising=False)
    monkeypatch.setenv("MERIDIAN_PG_PORT", "6543")
    assert config.postgres_dsn("source_crm") == "postgres://u:p@db.internal:5432/crm"
    assert config.postgres_dsn("source_app") == "postgres://postgres@127.0.0.1:6543/app"
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


def test_as_of_is_the_logical_date():
    context = {"logical_date": datetime(2024, 3, 31, 0, 0, tzinfo=UTC)}
    assert as_of_date(context) == date(2024, 3, 31)


def test_asset_triggered_run_takes_the_as_of_from_the_event():
    events = {"raw": [SimpleNamespace(extra={"as_of_date": "2024-03-30"}),
                      SimpleNamespace(extra={"as_of_date": "2024-03-31"})]}
    context = {"logical_date": None, "triggering_asset_events": events,
               "dag_run": SimpleNamespace(run_after=datetime(2024, 4, 5, tzinfo=UTC))}
    assert as_of_date(context) == date(2024, 3, 31)


def test_without_logical_date_or_event_the_run_after_date_is_used():
    context = {"logical_date": None, "dag_run": SimpleNamespace(run_after=datetime(2024, 4, 5, 3, tzinfo=UTC))}
    assert as_of_date(context) == date(2024, 4, 5)
