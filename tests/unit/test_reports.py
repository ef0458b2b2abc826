"""Report types, periods, the reporting schema and rendering (PDF, CSV, XLSX, HTML) against a real PostgreSQL.

The marts are created by hand here (the dbt models are built elsewhere), with
rows for two tenants whose numbers differ, so leaks between tenants show.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import psycopg2
import pytest

from meridian import db
from meridian.delivery.message import build_message
from meridian.delivery.schema import seed_demo_schedules
from meridian.reports import render
from meridian.reports.data import load_report_data
from meridian.reports.model import REPORT_TYPE_NAMES
from meridian.reports.periods import add_months, month_start, next_due, period_for
from meridian.reports.registry import REPORT_TYPES, REVENUE_SUMMARY, ReportConfigError, get_report_type
from meridian.reports.render import check_formats, render_report
from meridian.reports.render.html import html_document
from meridian.reports.render.html_email import email_html
from meridian.warehouse.reporting import ensure_reporting_schema
from tests.conftest import private_warehouse

MARCH = date(2024, 3, 1)
GENERATED_AT = datetime(2024, 4, 1, 0, 5, tzinfo=UTC)

MONTHLY_REVENUE_DDL = """
create table marts.fct_monthly_revenue (
    tenant_id text not null, revenue_month date not null,
    starting_mrr numeric(14,2), new_mrr numeric(14,2), expansion_mrr numeric(14,2),
    reactivation_mrr numeric(14,2), contraction_mrr numeric(14,2), churned_mrr numeric(14,2),
    ending_mrr numeric(14,2), net_new_mrr numeric(14,2), arr numeric(14,2),
    paying_customers integer, new_customers integer, churned_customers integer, reactivated_customers integer,
    logo_churn_rate numeric(7,4), gross_mrr_churn_rate numeric(7,4), net_mrr_retention_rate numeric(9,4),
    arpu numeric(14,2), ltv numeric(14,2),
    gross_revenue numeric(14,2), refunds numeric(14,2), net_revenue numeric(14,2),
    payments_attempted integer, payments_succeeded integer, refund_count integer,
    primary key (tenant_id, revenue_month)
)
"""
MOVEMENTS_DDL = """
create table marts.fct_mrr_movements (
    tenant_id text not null, revenue_month date not null, user_id text not null,
    mrr numeric(14,2), previous_mrr numeric(14,2), mrr_change numeric(14,2), movement text,
    primary key (tenant_id, revenue_month, user_id)
)
"""
# tenant -> (base MRR, step per month); globex's numbers are distinctive so a leak shows
TENANTS = {"acme": (Decimal("1000.00"), Decimal("150.00")), "globex": (Decimal("777000.00"), Decimal("7.77"))}
MOVEMENTS = {
    "acme": [
        ("u1", "new", "0", "100.00"),
        ("u2", "expansion", "50.00", "80.00"),
        ("u3", "churn", "80.00", "0"),
        ("u4", "contraction", "60.00", "40.00"),
        ("u5", "reactivation", "0", "30.00"),
        ("u6", "unchanged", "25.00", "25.00"),
    ],
    "globex": [("g1", "new", "0", "99991.11"), ("g2", "churn", "88882.22", "0")],
}

# the monthly revenue summary's workbook: the summary sheet, then one sheet per section
REVENUE_SUMMARY_SHEETS = [
    "Summary",
    "Headline",
    "MRR trend",
    "MRR movements",
    "Revenue and payments",
    "Revenue by plan",
    "Revenue by country",
    "LTV and CAC by channel",
    "MRR forecast",
]


def monthly_revenue_rows(tenant: str, months: int = 12) -> list[dict]:
    base, step = TENANTS[tenant]
    rows = []
    for index in range(months):
        ending = base + step * index
        starting = ending - step
        rows.append(
            {
                "tenant_id": tenant,
                "revenue_month": month_start(MARCH, index - months + 1),
                "starting_mrr": starting,
                "new_mrr": step + 20,
                "expansion_mrr": Decimal("30.00"),
                "reactivation_mrr": Decimal("0.00"),
                "contraction_mrr": Decimal("20.00"),
                "churned_mrr": Decimal("30.00"),
                "ending_mrr": ending,
                "net_new_mrr": step,
                "arr": ending * 12,
                "paying_customers": 10 + index,
                "new_customers": 2,
                "churned_customers": 1,
                "reactivated_customers": 0,
                "logo_churn_rate": Decimal("0.0500"),
                "gross_mrr_churn_rate": Decimal("0.0400"),
                "net_mrr_retention_rate": Decimal("1.0100"),
                "arpu": (ending / (10 + index)).quantize(Decimal("0.01")),
                "ltv": None,
                "gross_revenue": ending - 10,
                "refunds": Decimal("10.00"),
                "net_revenue": ending - 20,
                "payments_attempted": 20 + index,
                "payments_succeeded": 18 + index,
                "refund_count": 1,
            }
        )
    return rows


def create_marts(conn, tenants=("acme", "globex")) -> None:
    with conn.cursor() as cur:
        cur.execute("drop schema if exists marts cascade")
        cur.execute("create schema marts")
        cur.execute(MONTHLY_REVENUE_DDL)
        cur.execute(MOVEMENTS_DDL)
        for tenant in tenants:
            for row in monthly_revenue_rows(tenant):
                columns = ", ".join(row)
                cur.execute(
                    f"insert into marts.fct_monthly_revenue ({columns}) values ({', '.join(['%s'] * len(row))})",
                    list(row.values()),
                )
            for user_id, movement, previous, current in MOVEMENTS[tenant]:
                cur.execute(
                    "insert into marts.fct_mrr_movements values (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        tenant,
                        MARCH,
                        user_id,
                        Decimal(current),
                        Decimal(previous),
                        Decimal(current) - Decimal(previous),
                        movement,
                    ),
                )
    conn.commit()


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    """A private embedded PostgreSQL (its own port and throwaway state dir) with the marts."""
    with private_warehouse("meridian-reports-test-", create_marts) as base:
        yield base


def load(
    tenant: str,
    due: datetime = datetime(2024, 4, 1, tzinfo=UTC),
    frequency: str = "monthly",
    parameters: dict | None = None,
):
    report_type = REVENUE_SUMMARY
    with db.connection("warehouse") as conn:
        return load_report_data(
            conn,
            report_type,
            tenant,
            period_for(due, frequency),
            report_type.resolve_parameters(parameters or {}),
            generated_at=GENERATED_AT,
        )


def sheet_values(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def workbook_text(path: Path) -> str:
    """Every cell value of every sheet, and the workbook's properties, as one string."""
    book = openpyxl.load_workbook(path)
    values = [str(value) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for value in row]
    values += [str(book.properties.title), str(book.properties.subject)]
    return "\n".join(values)


def html_text(page: str) -> str:
    """The visible text of a page (tags dropped, whitespace collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "frequency", "start", "end", "label"),
    [
        (datetime(2024, 4, 1, tzinfo=UTC), "monthly", date(2024, 3, 1), date(2024, 3, 31), "March 2024"),
        (datetime(2024, 4, 17, 9, 30, tzinfo=UTC), "monthly", date(2024, 3, 1), date(2024, 3, 31), "March 2024"),
        (datetime(2024, 1, 1, tzinfo=UTC), "monthly", date(2023, 12, 1), date(2023, 12, 31), "December 2023"),
        (datetime(2024, 3, 1, tzinfo=UTC), "monthly", date(2024, 2, 1), date(2024, 2, 29), "February 2024"),
        (datetime(2024, 4, 1, tzinfo=UTC), "weekly", date(2024, 3, 25), date(2024, 3, 31), "25–31 March 2024"),
        (datetime(2024, 4, 2, tzinfo=UTC), "daily", date(2024, 4, 1), date(2024, 4, 1), "1 April 2024"),
    ],
)
def test_period_covered_by_a_due_report(due, frequency, start, end, label):
    period = period_for(due, frequency)
    assert (period.start, period.end, period.label) == (start, end, label)


def test_next_due_moves_by_the_frequency():
    due = datetime(2024, 1, 31, 6, 0, tzinfo=UTC)
    assert next_due(due, "daily") == datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
    assert next_due(due, "weekly") == datetime(2024, 2, 7, 6, 0, tzinfo=UTC)
    assert next_due(datetime(2024, 12, 1, tzinfo=UTC), "monthly") == datetime(2025, 1, 1, tzinfo=UTC)
    assert add_months(due, 1) == datetime(2024, 2, 29, 6, 0, tzinfo=UTC)  # clamped


# --- registry and validation --------------------------------------------------------------------


def test_registry_is_data_and_every_read_is_per_tenant():
    assert set(REPORT_TYPES) == set(REPORT_TYPE_NAMES)
    monthly = {section.table for section in REVENUE_SUMMARY.sections_for("monthly")}
    assert monthly == {"marts.fct_monthly_revenue", "marts.fct_mrr_movements", "marts.fct_plan_revenue_monthly",
                       "marts.fct_revenue_by_country_monthly", "marts.fct_acquisition_monthly", "marts.fct_mrr_forecast"}
    for report_type in REPORT_TYPES.values():
        for section in report_type.sections:
            assert section.columns[0] == "tenant_id"


@pytest.mark.parametrize(
    ("call", "field", "fragment"),
    [
        (lambda: get_report_type("bogus"), "report_type", "unknown report type 'bogus'"),
        (lambda: REVENUE_SUMMARY.resolve_parameters({"trend_months": 99}), "parameters.trend_months", "3 to 36"),
        (lambda: REVENUE_SUMMARY.resolve_parameters({"colour": "red"}), "parameters.colour", "not a parameter"),
        (lambda: REVENUE_SUMMARY.resolve_parameters({"currency": "euro"}), "parameters.currency", "ISO 4217"),
        (lambda: check_formats(["docx"]), "formats", "unknown format 'docx'"),
    ],
)
def test_bad_configuration_names_the_field(call, field, fragment):
    with pytest.raises(ReportConfigError) as caught:
        call()
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_check_formats_accepts_every_allowed_format_and_names_unimplemented_ones(monkeypatch):
    assert check_formats(["pdf", "csv", "xlsx", "html", "csv"]) == ["pdf", "csv", "xlsx", "html"]
    assert set(render.RENDERERS) == {"pdf", "csv", "xlsx", "html"}
    # an allowed format without a renderer still fails validation naming the field
    monkeypatch.delitem(render.RENDERERS, "xlsx")
    with pytest.raises(ReportConfigError) as caught:
        check_formats(["pdf", "xlsx"])
    assert caught.value.field == "formats" and "'xlsx' is not implemented yet" in str(caught.value)


# --- schema -------------------------------------------------------------------------------------


def test_reporting_schema_is_idempotent_and_seeding_once_per_tenant(warehouse):
    first_run = datetime(2024, 4, 1, tzinfo=UTC)
    with db.connection("warehouse") as conn:
        ensure_reporting_schema(conn)
        ensure_reporting_schema(conn)
        with conn.cursor() as cur:
            cur.execute("truncate reporting.report_deliveries, reporting.scheduled_reports restart identity")
        conn.commit()
        assert len(seed_demo_schedules(conn, ["acme", "globex"], first_run)) == 2
        assert seed_demo_schedules(conn, ["acme", "globex", "initech"], first_run) == [3]
        with conn.cursor() as cur:
            cur.execute("""select tenant_id, report_type, frequency, formats, recipients, parameters, next_run_at,
                                  is_active from reporting.scheduled_reports order by id""")
            rows = cur.fetchall()
    assert [row[0] for row in rows] == ["acme", "globex", "initech"]
    assert rows[0][1:] == (
        "revenue_summary",
        "monthly",
        ["pdf", "csv"],
        ["finance@acme.example.com"],
        {},
        first_run,
        True,
    )


def test_reporting_schema_allows_every_format(warehouse):
    with db.connection("warehouse") as conn:
        ensure_reporting_schema(conn)
        with conn.cursor() as cur:
            cur.execute(
                "insert into reporting.scheduled_reports (tenant_id, name, recipients, next_run_at, formats) "
                "values ('acme', 'all formats', array['a@b.example.com'], now(), array['pdf','csv','xlsx','html']) "
                "returning formats"
            )
            assert cur.fetchone()[0] == ["pdf", "csv", "xlsx", "html"]
        conn.rollback()


@pytest.mark.parametrize(
    ("column", "value"),
    [("report_type", "'bogus'"), ("frequency", "'hourly'"), ("formats", "array['pdf','docx']")],
)
def test_reporting_schema_checks_allowed_values(warehouse, column, value):
    with db.connection("warehouse") as conn:
        ensure_reporting_schema(conn)
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.CheckViolation):
            cur.execute(
                f"insert into reporting.scheduled_reports (tenant_id, name, recipients, next_run_at, {column}) "
                f"values ('acme', 'x', array['a@b.example.com'], now(), {value})"
            )
        conn.rollback()


# --- reading the marts --------------------------------------------------------------------------


def test_sections_read_one_tenant_and_the_right_window(warehouse):
    data = load("acme")
    headline = data.section("headline")
    assert (headline.scope.start, headline.previous_scope.start) == (MARCH, date(2024, 2, 1))
    assert headline.current["ending_mrr"] == Decimal("2650.00") and headline.previous["ending_mrr"] == Decimal(
        "2500.00"
    )
    trend = data.section("mrr_trend")
    assert len(trend.rows) == 12 and trend.rows[-1]["ending_mrr"] == Decimal("2650.00")
    assert not data.section("plan_revenue").available  # the mart is not created here
    movements = {row["movement"]: row for row in data.section("mrr_movements").rows}
    assert list(movements) == ["new", "expansion", "reactivation", "contraction", "churn"]  # unchanged left out
    assert movements["churn"]["customers"] == 1 and movements["churn"]["mrr_change"] == Decimal("-80.00")
    assert movements["expansion"]["mrr_change"] == Decimal("30.00")
    assert len(load("acme", parameters={"trend_months": 6}).section("mrr_trend").rows) == 6


def test_missing_mart_table_or_column_makes_the_section_not_available(warehouse):
    with db.connection("warehouse") as conn:
        with conn.cursor() as cur:
            cur.execute("alter table marts.fct_mrr_movements rename to fct_mrr_movements_old")
            cur.execute("alter table marts.fct_monthly_revenue drop column arpu")
        data = load_report_data(
            conn,
            REVENUE_SUMMARY,
            "acme",
            period_for(datetime(2024, 4, 1, tzinfo=UTC), "monthly"),
            {"trend_months": 12},
            generated_at=GENERATED_AT,
        )
        conn.rollback()  # DDL is transactional: the marts are back as they were
    movements, revenue = data.section("mrr_movements"), data.section("revenue")
    assert not movements.available and movements.note == "not available: marts.fct_mrr_movements does not exist yet"
    assert not revenue.available and "no column arpu" in revenue.note
    assert data.section("headline").available
    folder = warehouse / "out" / "missing"
    pdf, csv_path = render_report(data, ["pdf", "csv"], folder)
    text = pdf_text(pdf)
    assert "Not available: marts.fct_mrr_movements does not exist yet" in text
    statuses = [row for row in read_csv(csv_path) if row["metric"] == "status"]
    # plan revenue, country, LTV/CAC and the forecast: their marts are not created here
    assert {row["section"] for row in statuses} == {"mrr_movements", "revenue", "plan_revenue", "revenue_by_country",
                                                    "ltv_cac", "mrr_forecast"}

    xlsx, html_path = render_report(data, ["xlsx", "html"], folder)
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == REVENUE_SUMMARY_SHEETS
    assert book["MRR movements"]["A2"].value == "Not available: marts.fct_mrr_movements does not exist yet."
    assert "no column arpu" in book["Revenue and payments"]["A2"].value
    assert book["Headline"].freeze_panes == "A2"  # the available sections are still there
    summary = sheet_values(book["Summary"])
    assert ["MRR movements", "Not available: marts.fct_mrr_movements does not exist yet"] in summary
    page = html_path.read_text(encoding="utf-8")
    assert "Not available: marts.fct_mrr_movements does not exist yet." in page
    assert "no column arpu" in page and 'class="tiles"' in page


# --- rendering ----------------------------------------------------------------------------------


def test_render_pdf_and_csv(warehouse):
    data = load("acme")
    pdf, csv_path = render_report(data, ["pdf", "csv"], warehouse / "out" / "acme")
    assert pdf.name == "revenue_summary_acme_2024-03.pdf" and csv_path.suffix == ".csv"
    assert pdf.read_bytes().startswith(b"%PDF")

    if shutil.which("pdftoppm"):
        pages = warehouse / "out" / "pages"
        pages.mkdir(exist_ok=True)
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(pages / "page")], check=True)
        assert len(list(pages.glob("page*.png"))) >= 1
    if shutil.which("pdftotext"):
        text = pdf_text(pdf)
        for expected in (
            "Meridian revenue summary",
            "acme",
            "March 2024",
            "Generated 2024-04-01 00:05 UTC",
            "2,650.00",
            "+6.0% vs Feb 2024",
            "MRR trend",
            "MRR movements",
            "Reactivation",
            "Page 1 of",
        ):
            assert expected in text, expected

    rows = read_csv(csv_path)
    assert {row["tenant_id"] for row in rows} == {"acme"}
    assert {(row["period_start"], row["period_end"]) for row in rows} == {("2024-03-01", "2024-03-31")}
    mart = {row["revenue_month"].isoformat(): row for row in monthly_revenue_rows("acme")}
    checked = 0
    for row in rows:
        if row["section"] in ("headline", "mrr_trend", "revenue"):
            expected = mart[row["key"]][row["metric"]]
            assert (Decimal(row["value"]) if row["value"] else None) == expected, row
            checked += 1
    assert checked == 2 * 8 + 12 + 2 * 15
    movements = {
        (row["key"], row["metric"]): Decimal(row["value"]) for row in rows if row["section"] == "mrr_movements"
    }
    assert movements[("new", "mrr_change")] == Decimal("100.00")
    assert movements[("contraction", "customers")] == 1


def test_tenant_isolation_in_rendered_files(warehouse):
    acme_pdf, acme_csv = render_report(load("acme"), ["pdf", "csv"], warehouse / "out" / "iso-acme")
    globex_pdf, globex_csv = render_report(load("globex"), ["pdf", "csv"], warehouse / "out" / "iso-globex")
    acme_text = acme_csv.read_text() + pdf_text(acme_pdf)
    globex_text = globex_csv.read_text() + pdf_text(globex_pdf)
    for leak in ("globex", "777", "99991", "88882"):
        assert leak not in acme_text, leak
    assert "99991.11" in globex_text and "acme" not in globex_text


def test_render_xlsx(warehouse):
    data = load("acme")
    (path,) = render_report(data, ["xlsx"], warehouse / "out" / "xlsx")
    assert path.name == "revenue_summary_acme_2024-03.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == REVENUE_SUMMARY_SHEETS

    summary = {row[0]: row[1] for row in sheet_values(book["Summary"]) if row[0]}
    assert summary["Tenant"] == "acme" and summary["Period"] == "March 2024"
    assert summary["Period start"] == datetime(2024, 3, 1) and summary["Period end"] == datetime(2024, 3, 31)
    assert summary["Generated (UTC)"] == datetime(2024, 4, 1, 0, 5)
    assert summary["Headline"] == "Available"
    assert book["Summary"]["A1"].font.b and book["Summary"].freeze_panes == "A2"

    mart = {row["revenue_month"]: row for row in monthly_revenue_rows("acme")}
    kinds = {}
    for key, sheet in (("headline", "Headline"), ("revenue", "Revenue and payments")):
        ws = book[sheet]
        assert ws.freeze_panes == "A2"
        assert [cell.value for cell in ws[1]] == [
            "Metric",
            "Key",
            "March 2024",
            "February 2024",
            "Change",
            "Change %",
        ]
        assert all(cell.font.b for cell in ws[1])
        metrics = REVENUE_SUMMARY.section(key).metrics
        for row_number, metric in enumerate(metrics, start=2):
            label, column, current, previous, change = (ws.cell(row_number, c) for c in range(1, 6))
            assert (label.value, column.value) == (metric.label, metric.column)
            for cell, month in ((current, MARCH), (previous, date(2024, 2, 1))):
                assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), cell
                assert Decimal(str(cell.value)) == mart[month][metric.column], (sheet, metric.column)
            kinds[metric.kind] = current
            expected_format = {"money": "#,##0.00", "rate": "0.0%", "count": "#,##0"}[metric.kind]
            assert current.number_format == previous.number_format == change.number_format == expected_format
            if metric.kind == "count":
                assert isinstance(current.value, int)
    assert set(kinds) == {"money", "count", "rate"}
    ending = book["Headline"]["C2"]
    assert ending.value == 2650 and ending.number_format == "#,##0.00"
    assert Decimal(str(book["Headline"]["E2"].value)) == Decimal("150.00")  # change vs February
    assert (
        round(book["Headline"]["F2"].value, 4) == round(150 / 2500, 4)
        and book["Headline"]["F2"].number_format == "0.0%"
    )

    trend = book["MRR trend"]
    assert trend.freeze_panes == "A2" and [c.value for c in trend[1]] == ["Period start", "Period end", "Ending MRR"]
    trend_rows = sheet_values(trend)[1:]
    assert len(trend_rows) == 12
    assert [(month.date(), Decimal(str(value))) for month, _, value in trend_rows] == [
        (month, mart[month]["ending_mrr"]) for month in sorted(mart)
    ]
    assert trend["A2"].number_format == "yyyy-mm-dd" and trend["C2"].number_format == "#,##0.00"
    assert len(trend._charts) == 1

    movements = book["MRR movements"]
    assert movements.freeze_panes == "A2"
    assert [c.value for c in movements[1]] == ["Movement", "Key", "Customers", "MRR change"]
    rows = {row[1]: row for row in sheet_values(movements)[1:] if row[0]}
    assert rows["new"][2] == 1 and Decimal(str(rows["new"][3])) == Decimal("100.00")
    assert Decimal(str(rows["churn"][3])) == Decimal("-80.00") and rows["churn"][2] == 1
    net = next(row for row in sheet_values(movements) if row[0] == "Net")
    assert net[2] == 5 and Decimal(str(net[3])) == Decimal("100") + 30 + 30 - 20 - 80
    assert movements["C2"].number_format == "#,##0" and movements["D2"].number_format == "#,##0.00"
    for ws in book.worksheets:  # columns are sized to their contents
        assert ws.column_dimensions["A"].width >= 10


def test_xlsx_money_format_carries_the_currency_parameter(warehouse):
    data = load("acme", parameters={"currency": "EUR"})
    (path,) = render_report(data, ["xlsx"], warehouse / "out" / "xlsx-eur")
    book = openpyxl.load_workbook(path)
    assert book["Headline"]["C2"].number_format == '#,##0.00 "EUR"'
    assert book["Headline"]["C6"].number_format == "#,##0"  # counts stay plain
    assert {row[0]: row[1] for row in sheet_values(book["Summary"]) if row[0]}["Currency"] == "EUR"


def test_render_html(warehouse):
    data = load("acme")
    (path,) = render_report(data, ["html"], warehouse / "out" / "html")
    assert path.name == "revenue_summary_acme_2024-03.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "@media print" in page
    # self-contained: no scripts, stylesheets, images or fonts fetched from anywhere
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"(src|href)\s*=", page) and "@import" not in page and "url(" not in page
    assert page.count("<svg") == 1 and "<polyline" in page and page.count("<circle") == 12

    text = html_text(page)
    for expected in (
        "Meridian revenue summary",
        "Tenant acme",
        "March 2024 (2024-03-01 to 2024-03-31, monthly)",
        "Generated 2024-04-01 00:05 UTC",
        "MRR 2,650.00 +6.0% vs Feb 2024",
        "ARR 31,800.00",
        "Paying customers 21",
        "Churned customers 1 no change vs Feb 2024",
        "MRR trend",
        "Movement Customers MRR change",
        "New 1 100.00",
        "Churn 1 -80.00",
        "Net 5 60.00",
        "Logo churn 5.0% 5.0%",
        "Net MRR retention 101.0%",
    ):
        assert expected in text, expected
    assert 'class="change good">+6.0% vs Feb 2024' in page


def test_html_and_email_escape_every_value(warehouse):
    hostile = '<script>alert("x")</script> & Co'
    data = dataclasses.replace(load("acme"), tenant_id=hostile, report_name="Q1 <b>board</b>")
    for page in (html_document(data), email_html(data, [Path("a<b>.pdf")])):
        assert "<script" not in page and "<b>board" not in page and "a<b>.pdf" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    (path,) = render_report(data, ["html"], warehouse / "out" / "html-escape")
    assert "<script" not in path.read_text(encoding="utf-8")
    assert "<" not in path.name and ">" not in path.name


def test_email_html_body_has_the_headline_kpis(warehouse):
    data = load("acme")
    files = render_report(data, ["pdf", "csv", "xlsx", "html"], warehouse / "out" / "mail")
    assert [path.suffix for path in files] == [".pdf", ".csv", ".xlsx", ".html"]
    message = build_message(data, files, ["finance@acme.example.com"], sender="r@meridian.local", report_id=7)
    body = message.get_body(("html",)).get_content()
    text = html_text(body)
    assert "MRR 2,650.00 +6.0% vs Feb 2024" in text and "Net revenue 2,630.00" in text
    assert "revenue_summary_acme_2024-03.xlsx" in text
    assert "<style" not in body  # mail clients drop style blocks: everything is inline
    plain = message.get_body(("plain",)).get_content()
    assert "2,650.00" in plain and "Attached: revenue_summary_acme_2024-03.pdf" in plain
    attachments = {part.get_filename(): part.get_content_type() for part in message.iter_attachments()}
    assert attachments == {
        "revenue_summary_acme_2024-03.pdf": "application/pdf",
        "revenue_summary_acme_2024-03.csv": "text/csv",
        "revenue_summary_acme_2024-03.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "revenue_summary_acme_2024-03.html": "text/html",
    }


def test_tenant_isolation_in_xlsx_and_html(warehouse):
    acme = load("acme")
    globex = load("globex")
    acme_xlsx, acme_html = render_report(acme, ["xlsx", "html"], warehouse / "out" / "iso2-acme")
    globex_xlsx, globex_html = render_report(globex, ["xlsx", "html"], warehouse / "out" / "iso2-globex")
    acme_text = "\n".join(
        [workbook_text(acme_xlsx), acme_html.read_text(encoding="utf-8"), email_html(acme, [acme_xlsx])]
    )
    globex_text = "\n".join(
        [workbook_text(globex_xlsx), globex_html.read_text(encoding="utf-8"), email_html(globex, [globex_xlsx])]
    )
    for leak in ("globex", "777", "99991", "88882"):
        assert leak not in acme_text, leak
    assert "acme" not in globex_text
    assert "99991.11" in workbook_text(globex_xlsx) and "99,991.11" in globex_html.read_text(encoding="utf-8")


def test_weekly_report_reads_the_month_that_contains_it(warehouse):
    data = load("acme", due=datetime(2024, 4, 1, tzinfo=UTC), frequency="weekly")
    assert data.month == MARCH
    (pdf,) = render_report(data, ["pdf"], warehouse / "out" / "weekly")
    text = " ".join(pdf_text(pdf).split())
    assert "25–31 March 2024" in text or "25-31 March 2024" in text
    assert "month to date" in text
