"""The accounting ledger built by dbt from generated sources (tests/api/build.py), checked against the
ledger computed independently in Python from the accepted source rows (tests/e2e/expected_ledger.py):
the mart row for row, its monthly sums against fct_monthly_revenue, the read API's ledger pages, and
``meridian export transactions`` in both formats (never a row of the other tenant)."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal

import psycopg2.extras
import pytest

from meridian import db
from meridian.cli import main
from tests.api.conftest import auth
from tests.e2e import expected
from tests.e2e.expected_ledger import accounting_transactions

TENANTS = ("acme", "globex")


@pytest.fixture(scope="module")
def ledger(api_world) -> dict:
    accepted = expected.accepted_rows(api_world["sources"], api_world["file_lines"], api_world["as_of"],
                                      files_loaded_whole=True)
    return accounting_transactions(accepted, api_world["as_of"])


def mart_rows() -> dict:
    with db.connection("warehouse") as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("select * from marts.fct_accounting_transactions")
        return {(row["tenant_id"], row["transaction_id"]): dict(row) for row in cur.fetchall()}


def test_the_mart_is_the_ledger_of_the_sources(api_world, ledger):
    rows = mart_rows()
    kinds = {transaction_id.split("_", 1)[0] for _, transaction_id in ledger}
    assert kinds == {"ch", "rf"} and {tenant for tenant, _ in ledger} == set(TENANTS)  # both kinds, both tenants
    assert sorted(rows) == sorted(ledger)
    for key, want in ledger.items():
        assert rows[key] == want, key


def test_the_months_sum_to_net_revenue(api_world, ledger):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select tenant_id, revenue_month, net_revenue from marts.fct_monthly_revenue")
        net = {(tenant, month): value for tenant, month, value in cur.fetchall()}
    sums: dict = {}
    for row in ledger.values():
        key = (row["tenant_id"], expected.month_start(row["booked_date"]))
        sums[key] = sums.get(key, Decimal("0.00")) + row["amount"]
    assert set(sums) <= set(net)
    assert {key: value for key, value in net.items() if value or key in sums} == sums


@pytest.mark.parametrize("tenant", TENANTS)
def test_the_api_pages_through_the_ledger_once(client, api_world, ledger, tenant):
    first, last = date(2026, 8, 1), date(2026, 10, 31)
    want = sorted((row for (owner, _), row in ledger.items() if owner == tenant and first <= row["booked_date"] <= last),
                  key=lambda row: (row["booked_at"], row["transaction_id"]), reverse=True)
    assert len(want) > 10
    seen, cursor = [], None
    while True:
        response = client.get(f"/api/v1/payments/transactions?from={first}&to={last}&limit=9"
                              + (f"&cursor={cursor}" if cursor else ""), headers=auth(api_world["keys"][tenant]))
        assert response.status_code == 200, response.text
        page = response.json()["data"]
        seen += page["transactions"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [row["transaction_id"] for row in seen] == [row["transaction_id"] for row in want]
    for got, row in zip(seen, want, strict=True):
        assert got["amount"] == float(row["amount"]) and got["currency"] == row["currency"]
        assert got["booked_at"] == row["booked_at"].isoformat() and got["transaction_type"] == row["transaction_type"]
        assert (got["payment_id"], got["refund_id"], got["description"]) == (
            row["payment_id"], row["refund_id"], row["description"])


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


@pytest.mark.parametrize("output_format", ["csv", "json"])
@pytest.mark.parametrize("tenant", TENANTS)
def test_the_export_is_the_ledger_of_the_sources(api_world, ledger, capsys, tmp_path, tenant, output_format):
    first, last = date(2026, 1, 1), api_world["as_of"]
    path = tmp_path / f"{tenant}.{output_format}"
    code = main(["export", "transactions", "--tenant", tenant, "--from", first.isoformat(), "--to", last.isoformat(),
                 "--format", output_format, "--output", str(path)])
    err = capsys.readouterr().err
    assert code == 0, err
    if output_format == "csv":
        rows = [{key: value or None for key, value in row.items()} for row in csv.DictReader(path.open())]
    else:
        rows = json.loads(path.read_text())
    want = sorted((row for (owner, _), row in ledger.items() if owner == tenant and first <= row["booked_date"] <= last),
                  key=lambda row: (row["booked_at"], row["transaction_id"]))
    assert rows == [{key: _text(value) for key, value in row.items()} for row in want]
    assert {row["tenant_id"] for row in rows} == {tenant} and len(rows) > 10
    net = sum((row["amount"] for row in want), Decimal("0.00"))
    assert err.rstrip().endswith(f"{len(want)} transactions of tenant '{tenant}' booked {first} to {last} → {path} "
                                 f"({output_format}); net {want[0]['currency']} {net}")
