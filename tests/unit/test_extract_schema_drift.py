"""Source schema drift: columns added, dropped or retyped against the contract (docs/sources.md).

Each case alters a real source table, runs the extraction and checks what
landed in raw, the error (naming table, column and value) and the
``schema_change`` alerts (once per change).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg2
import pytest

from meridian import db
from meridian.extract.drift import MissingRequiredColumns, SourceTableError
from meridian.extract.tables import extract_table
from meridian.sources.schema import canonical_type, schema_changes, table
from meridian.warehouse.alerts import ALERT_TYPES, Alert, record_alert
from meridian.warehouse.bootstrap import ensure_warehouse

pytestmark = pytest.mark.usefixtures("clean_databases")
from tests.unit.test_extract import clean_databases  # noqa: E402, F401 - the fixture

USERS = table("app", "users")
PAYMENTS = table("billing", "payments")
DAY1, DAY2, DAY3, DAY4 = (date(2024, 1, day) for day in (1, 2, 3, 4))


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def source(spec, sql: str, params: tuple = ()) -> None:
    with db.connection("source_" + spec.source) as conn, conn.cursor() as cur:
        cur.execute(sql, params)


def warehouse(sql: str, params: tuple = ()) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def extract(spec, as_of):
    with db.connection("source_" + spec.source) as src, db.connection("warehouse") as wh:
        return extract_table(spec, as_of, src, wh)


def alerts() -> list[tuple]:
    return warehouse(
        "select table_name, column_name, severity, is_resolved from audit.data_quality_alerts "
        "where alert_type = 'schema_change' order by alert_id"
    )


def insert_user(user_id: str, day: date) -> None:
    source(USERS, "insert into public.users (id, tenant_id, email, signup_at, platform, updated_at) "
                  "values (%s, 't1', %s, %s, 'web', %s)", (user_id, f"{user_id}@example.com", at(day), at(day)))


def insert_payment(payment_id: str, amount, currency: str = "USD", day: date = DAY1) -> None:
    source(PAYMENTS, "insert into public.payments (id, tenant_id, user_id, amount_cents, currency, method, status, "
                     "attempt_number, created_at, updated_at) values (%s, 't1', 'u1', %s, %s, 'card', 'succeeded', "
                     "1, %s, %s)", (payment_id, amount, currency, at(day), at(day)))


@pytest.mark.parametrize(
    ("contract", "printed"),
    [("char(3)", "character(3)"), ("timestamptz", "timestamp with time zone"), ("integer", "integer"),
     ("NUMERIC (10, 2)", "numeric(10,2)"), ("int8", "bigint"), ("jsonb", "jsonb")],
)
def test_contract_types_are_spelled_as_postgres_prints_them(contract, printed):
    assert canonical_type(contract) == printed


def test_the_contract_tables_as_created_show_no_drift():
    """create_sql makes tables the catalog reads back exactly as the contract: no false alarm."""
    from meridian.extract.drift import read_source_columns
    from meridian.sources.schema import TABLES

    for spec in TABLES:
        with db.connection("source_" + spec.source) as conn, conn.cursor() as cur:
            assert schema_changes(spec, read_source_columns(cur, spec)) == [], spec.qualified


def test_an_added_column_is_ignored_and_alerted_once():
    source(USERS, "alter table public.users add column nickname text")
    insert_user("u1", DAY1)
    first = extract(USERS, DAY1)
    insert_user("u2", DAY2)
    second = extract(USERS, DAY2)
    assert (first.landed, second.landed) == (1, 1)
    assert alerts() == [("app.users", "nickname", "low", False)]  # once, not at every run
    (message,) = warehouse("select message from audit.data_quality_alerts where alert_type = 'schema_change'")[0]
    assert "nickname" in message and "app.users" in message


def test_a_dropped_optional_column_lands_as_null():
    source(USERS, "alter table public.users drop column email")
    insert_user_sql = ("insert into public.users (id, tenant_id, signup_at, platform, updated_at) "
                       "values ('u1', 't1', %s, 'web', %s)")
    source(USERS, insert_user_sql, (at(DAY1), at(DAY1)))
    assert extract(USERS, DAY1).landed == 1
    assert warehouse("select id, email, platform from raw.app__users") == [("u1", None, "web")]
    assert alerts() == [("app.users", "email", "medium", False)]


def test_a_dropped_extraction_key_sweeps_by_transaction():
    """No updated_at: every row counts as unstamped; the sweep still reads each new row version once."""
    source(USERS, "alter table public.users drop column updated_at")
    source(USERS, "insert into public.users (id, tenant_id, signup_at) values ('u1', 't1', now())")
    assert extract(USERS, DAY1).landed == 1
    assert extract(USERS, DAY2).landed == 0
    source(USERS, "insert into public.users (id, tenant_id, signup_at) values ('u2', 't1', now())")
    assert extract(USERS, DAY3).landed == 1
    assert [row[0] for row in warehouse("select id from raw.app__users order by _batch_id")] == ["u1", "u2"]


def test_a_missing_required_column_fails_that_table_alone():
    source(USERS, "alter table public.users drop column signup_at")
    insert_payment("p1", 100)
    with pytest.raises(MissingRequiredColumns, match=r"app\.users: required column signup_at is missing"):
        extract(USERS, DAY1)
    assert extract(PAYMENTS, DAY1).landed == 1  # another table of the same run
    assert warehouse("select count(*) from audit.watermarks where table_name = 'users'") == [(0,)]
    assert warehouse("select count(*) from audit.batches where table_name = 'users'") == [(0,)]
    assert alerts() == [("app.users", "signup_at", "high", False)]  # the alert stays although the table failed
    with pytest.raises(MissingRequiredColumns):
        extract(USERS, DAY2)
    assert len(alerts()) == 1


def test_a_retyped_column_is_converted_to_the_contract_type():
    source(PAYMENTS, "alter table public.payments alter column amount_cents type bigint")
    source(PAYMENTS, "alter table public.payments alter column currency type text")
    insert_payment("p1", 2_147_483_647)
    assert extract(PAYMENTS, DAY1).landed == 1
    assert warehouse("select amount_cents, currency from raw.billing__payments") == [(2_147_483_647, "USD")]
    assert sorted(alerts()) == [("billing.payments", "amount_cents", "medium", False),
                                ("billing.payments", "currency", "medium", False)]


@pytest.mark.parametrize(
    ("alter", "amount", "currency", "column", "value"),
    [
        ("alter column amount_cents type bigint", 3_000_000_000, "USD", "amount_cents", "3000000000"),
        ("alter column currency type text", 100, "EURO", "currency", "EURO"),
        ("alter column amount_cents type numeric", 12.5, "USD", "amount_cents", "12.5"),
    ],
)
def test_a_value_that_does_not_convert_fails_that_table_naming_column_and_value(alter, amount, currency, column,
                                                                                  value):
    source(PAYMENTS, f"alter table public.payments {alter}")
    insert_payment("p_ok", 100, day=DAY1)
    insert_payment("p_bad", amount, currency, day=DAY1)
    insert_user("u1", DAY1)
    with pytest.raises(SourceTableError) as failure:
        extract(PAYMENTS, DAY1)
    message = str(failure.value)
    assert "billing.payments" in message and f"column {column}" in message and value in message
    assert warehouse("select count(*) from raw.billing__payments") == [(0,)]  # nothing half-loaded
    assert warehouse("select count(*) from audit.watermarks") == [(0,)]
    assert extract(USERS, DAY1).landed == 1  # the other tables go on
    assert ("billing.payments", column, "medium", False) in alerts()
    source(PAYMENTS, "delete from public.payments where id = 'p_bad'")  # fixed at the source: the table loads
    assert extract(PAYMENTS, DAY1).landed == 1


def test_a_change_alerts_again_after_it_was_undone():
    source(USERS, "alter table public.users add column nickname text")
    extract(USERS, DAY1)
    source(USERS, "alter table public.users drop column nickname")
    extract(USERS, DAY2)
    assert alerts() == [("app.users", "nickname", "low", True)]  # resolved once the drift is gone
    source(USERS, "alter table public.users add column nickname text")
    extract(USERS, DAY3)
    extract(USERS, DAY4)
    assert alerts() == [("app.users", "nickname", "low", True), ("app.users", "nickname", "low", False)]


def test_a_table_missing_in_the_source_names_it():
    source(USERS, "drop table public.users")
    with pytest.raises(SourceTableError, match=r"public\.users \(app\.users\) is missing"):
        extract(USERS, DAY1)


def test_every_alert_type_is_allowed_also_in_a_warehouse_from_before_schema_change():
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("alter table audit.data_quality_alerts drop constraint data_quality_alerts_alert_type_check")
        cur.execute("alter table audit.data_quality_alerts add constraint data_quality_alerts_alert_type_check "
                    "check (alert_type in ('missing_data', 'quarantine'))")
    for _ in range(2):  # idempotent
        with db.connection("warehouse") as conn:
            ensure_warehouse(conn)
    with db.connection("warehouse") as conn:
        for alert_type in ALERT_TYPES:
            record_alert(conn, Alert(alert_type, "m", "low", dedup_key=f"t:{alert_type}"))
        with pytest.raises(psycopg2.errors.CheckViolation), conn.cursor() as cur:
            cur.execute("insert into audit.data_quality_alerts (alert_type, message, severity) "
                        "values ('no_such_type', 'm', 'low')")
