"""``meridian export transactions`` (meridian.serve.export) on a real PostgreSQL with hand-made ledger rows.

A private warehouse with the bootstrap (schema security, raw organizations alpha and beta landed) and
``marts.fct_accounting_transactions`` created from the model's contract (the column names and types of
dbt_project/models/marts/payments/_payments__models.yml, in order), row-level security applied. The rows
are this module's own (``ROWS``): amounts such as 0.10 + 0.20 whose float sum is not 0.30, rows on both
edges of the range, a refund, a null resource, the other tenant's rows on the same days. Each export is
read back with the standard csv and json modules and compared with what Python computes from ``ROWS``.
The ledger built by dbt from generated sources is checked in tests/api/test_api_ledger.py.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from meridian import db
from meridian.cli import main
from meridian.serve import export, rls
from meridian.warehouse.bootstrap import ensure_warehouse
from tests.conftest import private_warehouse
from tests.unit.test_reports_cli import land_organizations

CONTRACT = Path(__file__).resolve().parents[2] / "dbt_project/models/marts/payments/_payments__models.yml"
START, END = date(2026, 3, 1), date(2026, 3, 31)


def contract_columns() -> list[tuple[str, str]]:
    models = yaml.safe_load(CONTRACT.read_text())["models"]
    model = next(model for model in models if model["name"] == "fct_accounting_transactions")
    return [(column["name"], column["data_type"]) for column in model["columns"]]


COLUMNS = [name for name, _ in contract_columns()]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def row(tenant: str, kind: str, ident: str, booked: str, amount: str, *, payment: str | None = None,
        resource: str | None = "gold", currency: str = "USD", description: str | None = None) -> dict:
    booked_at = at(booked)
    payment_id = payment or ident
    return {
        "tenant_id": tenant, "transaction_id": f"{'ch' if kind == 'charge' else 'rf'}_{ident}",
        "transaction_type": kind, "booked_at": booked_at, "booked_date": booked_at.date(),
        "payment_id": payment_id, "refund_id": ident if kind == "refund" else None, "user_id": f"{tenant}_u1",
        "country": "FR", "method": "card", "resource": resource, "currency": currency, "amount": Decimal(amount),
        "description": description if description is not None else f"{kind} {ident}, \"quoted\", comma",
    }


ROWS = [
    row("alpha", "charge", "p0", "2026-02-28T23:59:59.999999+00:00", "99.99"),  # the day before the range
    row("alpha", "charge", "p1", "2026-03-01T00:00:00+00:00", "0.10"),  # the first instant of the range
    row("alpha", "charge", "p2", "2026-03-01T00:30:00+01:00", "0.20", resource=None),  # Feb 28 23:30 UTC: outside
    row("alpha", "charge", "p3", "2026-03-15T12:00:00+00:00", "0.20", resource=None),
    row("alpha", "refund", "r1", "2026-03-20T08:00:00+00:00", "-0.10", payment="p1"),
    row("alpha", "charge", "p4", "2026-03-31T23:59:59.999999+00:00", "123456789012.34"),  # the last instant
    row("alpha", "charge", "p5", "2026-04-01T00:00:00+00:00", "7.00"),  # the day after
    row("beta", "charge", "p1", "2026-03-01T00:00:00+00:00", "5.55", currency="EUR"),
    row("beta", "refund", "r9", "2026-03-15T12:00:00+00:00", "-1.11", payment="p1", currency="EUR"),
]


def expected(tenant: str, start: date, end: date) -> list[dict]:
    """The rows an export must hold, computed here from ROWS: booked_date in range, by booked_at, id."""
    rows = [r for r in ROWS if r["tenant_id"] == tenant and start <= r["booked_at"].date() <= end]
    return sorted(rows, key=lambda r: (r["booked_at"], r["transaction_id"]))


def as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # Decimal('0.10') -> '0.10'


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-export-test-") as base:
        with db.connection("warehouse") as conn:
            ensure_warehouse(conn)
            conn.commit()
            land_organizations(conn, ("alpha", "beta"))
            with conn.cursor() as cur:
                columns = ", ".join(f"{name} {data_type}" for name, data_type in contract_columns())
                cur.execute(f"create table marts.fct_accounting_transactions ({columns}, "
                            "primary key (tenant_id, transaction_id))")
                for item in ROWS:
                    cur.execute(f"insert into marts.fct_accounting_transactions ({', '.join(COLUMNS)}) "
                                f"values ({', '.join(['%s'] * len(COLUMNS))})", [item[name] for name in COLUMNS])
            conn.commit()
            rls.apply_row_security(conn)
        yield base


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_back(path: Path, output_format: str) -> tuple[list[str], list[dict]]:
    text = path.read_text(encoding="utf-8")
    if output_format == "csv":
        reader = csv.DictReader(text.splitlines())
        rows = [{key: value if value != "" else None for key, value in item.items()} for item in reader]
        return list(reader.fieldnames or []), rows
    rows = json.loads(text)
    assert isinstance(rows, list)
    return (list(rows[0]) if rows else []), rows


@pytest.mark.parametrize("output_format", ["csv", "json"])
@pytest.mark.parametrize(("tenant", "net"), [("alpha", "USD 123456789012.54"), ("beta", "EUR 4.44")])
def test_export_holds_the_tenants_rows_of_the_range_exactly(warehouse, capsys, tmp_path, output_format, tenant, net):
    path = tmp_path / f"ledger.{output_format}"
    code, out, err = run(["export", "transactions", "--tenant", tenant, "--from", START.isoformat(),
                          "--to", END.isoformat(), "--format", output_format, "--output", str(path)], capsys)
    assert code == 0, err
    assert out == ""
    header, rows = read_back(path, output_format)
    want = expected(tenant, START, END)
    assert header == COLUMNS  # every column of the mart, in contract order
    assert rows == [{name: as_text(item[name]) for name in COLUMNS} for item in want]
    assert {item["tenant_id"] for item in rows} == {tenant}
    # the summary: one line, the row count and the exact net per currency
    total = sum((item["amount"] for item in want), Decimal("0.00"))
    assert f"{want[0]['currency']} {total}" == net
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("meridian export transactions: ")
    assert f"{len(want)} transactions of tenant '{tenant}'" in lines[0] and lines[0].endswith(f"net {net}")


def test_money_is_exact_where_floats_are_not(warehouse, capsys, tmp_path):
    path = tmp_path / "small.json"
    assert run(["export", "transactions", "--tenant", "alpha", "--from", "2026-03-01", "--to", "2026-03-30",
                "--format", "json", "--output", str(path)], capsys)[0] == 0
    amounts = [item["amount"] for item in json.loads(path.read_text())]
    assert amounts == ["0.10", "0.20", "-0.10"]
    assert 0.1 + 0.2 != 0.3 and sum(Decimal(value) for value in amounts) == Decimal("0.20")
    csv_path = tmp_path / "small.csv"
    _, _, err = run(["export", "transactions", "--tenant", "alpha", "--from", "2026-03-01", "--to", "2026-03-30",
                     "--format", "csv", "--output", str(csv_path)], capsys)
    assert err.rstrip().endswith("3 transactions of tenant 'alpha' booked 2026-03-01 to 2026-03-30 → "
                                 f"{csv_path} (csv); net USD 0.20")
    assert ",0.10," in csv_path.read_text() and "0.1," not in csv_path.read_text()


def test_no_other_tenants_row_even_without_the_tenant_filter(warehouse, monkeypatch):
    """The query runs under the tenant's row-level security: dropping its tenant_id filter changes nothing."""
    unfiltered = export.QUERY.replace("tenant_id = %(tenant)s and ", "")
    assert unfiltered != export.QUERY
    monkeypatch.setattr(export, "QUERY", unfiltered)
    with db.connection("warehouse") as conn:
        for tenant in ("alpha", "beta"):
            frame = export.read_transactions(conn, tenant, date(2026, 1, 1), date(2026, 12, 31))
            assert set(frame["tenant_id"]) == {tenant}
            assert sorted(frame["transaction_id"]) == sorted(r["transaction_id"] for r in ROWS
                                                             if r["tenant_id"] == tenant)


def test_before_the_first_build_the_error_says_so(warehouse, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "QUERY", export.QUERY.replace(export.TABLE, "marts.fct_not_built"))
    code, out, err = run(replaced("--output", str(tmp_path / "x.csv")), capsys)
    assert (code, out) == (1, "")
    assert err == (f"meridian export: {export.TABLE} does not exist yet: run transform_warehouse first\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output_format", ["csv", "json"])
def test_an_empty_range_is_a_header_or_an_empty_list(warehouse, capsys, tmp_path, output_format):
    path = tmp_path / f"empty.{output_format}"
    code, _, err = run(["export", "transactions", "--tenant", "alpha", "--from", "2025-01-01", "--to", "2025-01-31",
                        "--format", output_format, "--output", str(path)], capsys)
    assert code == 0
    if output_format == "csv":
        assert path.read_text() == ",".join(COLUMNS) + "\n"
    else:
        assert json.loads(path.read_text()) == []
    assert err.rstrip().endswith("net none") and "0 transactions of tenant 'alpha'" in err


def test_net_is_per_currency():
    import pandas

    frame = pandas.DataFrame({"currency": ["USD", "EUR", "USD", "EUR"],
                              "amount": [Decimal("0.10"), Decimal("1.00"), Decimal("0.20"), Decimal("-1.00")]})
    assert export.net_by_currency(frame) == {"EUR": Decimal("0.00"), "USD": Decimal("0.30")}


ARGS = ["export", "transactions", "--tenant", "alpha", "--from", "2026-03-01", "--to", "2026-03-31",
        "--format", "csv", "--output", "{tmp}/out.csv"]


def replaced(option: str, value: str) -> list[str]:
    argv = list(ARGS)
    argv[argv.index(option) + 1] = value
    return argv


# argv, then fragments the one line on stderr must hold: the option and the bad value
BAD = [
    (replaced("--tenant", "gamma"), ["argument --tenant:", "unknown tenant 'gamma'", "known: alpha, beta"]),
    (replaced("--tenant", "  "), ["argument --tenant: is empty"]),
    (replaced("--from", "2026-04-01"), ["argument --from: 2026-04-01 is after --to 2026-03-31"]),
    (replaced("--from", "2026-02-30"), ["argument --from:", "'2026-02-30' is not a date"]),
    (replaced("--to", "31/03/2026"), ["argument --to:", "'31/03/2026' is not a date"]),
    (replaced("--to", "2101-01-01"), ["argument --to:", "'2101-01-01' is outside 2000-01-01 .. 2100-12-31"]),
    (replaced("--format", "xlsx"), ["argument --format: invalid choice: 'xlsx'"]),
    (replaced("--output", "{tmp}/no-such-folder/out.csv"), ["argument --output: cannot write to", "no-such-folder"]),
    (replaced("--output", "{tmp}/a-file/out.csv"), ["argument --output: cannot write to", "a-file/out.csv"]),
    (replaced("--output", "{tmp}"), ["argument --output:", "is a folder; give a file name"]),
    (ARGS[:-2], ["the following arguments are required: --output"]),
]


@pytest.mark.parametrize("argv, fragments", BAD, ids=[" ".join(case[0][2:])[:70] for case in BAD])
def test_a_bad_value_is_one_line_naming_the_option(warehouse, capsys, tmp_path, argv, fragments):
    (tmp_path / "a-file").write_text("not a folder")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    code, out, err = run(argv, capsys)
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("meridian ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]  # nothing written, no temporary left


def test_csv_text_cells_never_become_formulas_and_amounts_stay_numbers():
    import io

    import pandas

    from meridian.serve.export import write

    frame = pandas.DataFrame({"refund_reason": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "duplicate"],
                              "amount": [Decimal("-10.00"), Decimal("0.30"), Decimal("5.00")]})
    buffer = io.StringIO()
    write(frame, "csv", buffer)
    lines = buffer.getvalue().splitlines()
    assert lines[1:] == ['"\'=HYPERLINK(""http://x"")",-10.00', "'@SUM(A1),0.30", "duplicate,5.00"]
