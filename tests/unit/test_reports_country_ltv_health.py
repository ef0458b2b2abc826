"""The report sections of issue 14 in every format: revenue by country (table and bars), LTV/CAC by
acquisition channel, and health bands over time, read from hand-made marts of two tenants.

The comprehensive report of March 2024 is rendered as PDF, CSV, XLSX and HTML for acme; each format
must carry the three sections with acme's figures and none of globex's.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from meridian import db
from meridian.reports.data import load_report_data
from meridian.reports.periods import period_for
from meridian.reports.registry import COMPREHENSIVE
from meridian.reports.render import render_report
from tests.conftest import private_warehouse

MARCH = date(2024, 3, 1)
DUE = datetime(2024, 4, 1, tzinfo=UTC)

DDL = (
    """create table marts.fct_revenue_by_country_monthly (
        tenant_id text not null, revenue_month date not null, country text not null,
        payments_succeeded integer, gross_revenue numeric(14,2), refunds numeric(14,2), net_revenue numeric(14,2),
        unique_payers integer, share_of_gross_rate numeric(7,4), primary key (tenant_id, revenue_month, country))""",
    """create table marts.fct_acquisition_monthly (
        tenant_id text not null, acquisition_month date not null, channel text not null, spend numeric(14,2),
        new_users integer, new_paying_users integer, cac numeric(14,2), avg_revenue_per_paying_user_month numeric(14,2),
        gross_margin_rate numeric(7,4), monthly_churn_rate numeric(7,4), ltv numeric(14,2),
        ltv_cac_ratio numeric(12,2), payback_months numeric(12,2),
        primary key (tenant_id, acquisition_month, channel))""",
    """create table marts.fct_customer_health_daily (
        tenant_id text not null, as_of_date date not null, total_customers integer, active integer,
        onboarding integer, at_risk integer, churned_this_month integer, avg_health_score numeric(6,2),
        healthy integer, stable integer, at_risk_band integer, critical integer, churned integer,
        customers_with_known_state integer, primary key (tenant_id, as_of_date))""",
)

# (country, payments, gross, refunds, payers, share); globex's amounts are distinctive so a leak shows
COUNTRIES = {
    "acme": [("US", 3, "300.00", "10.00", 2, "0.7500"), ("DE", 1, "100.00", "0.00", 1, "0.2500")],
    "globex": [("JP", 9, "7777.77", "0.00", 9, "1.0000")],
}
# (channel, spend, new users, new paying, cac, ltv, ltv/cac, payback)
CHANNELS = {
    "acme": [("paid_social", "500.00", 40, 5, "100.00", "450.00", "4.50", "5.00"),
             ("organic", "0.00", 100, 4, "0.00", "450.00", None, "0.00")],
    "globex": [("paid_search", "9999.99", 1, 1, "9999.99", "8888.88", "0.89", "99.99")],
}


def health_row(tenant: str, day: date) -> tuple:
    """Bands that grow with the month: on Mar 31 acme has 8 healthy, 3 stable, 2 at risk and 1 critical."""
    healthy = 5 + day.month if tenant == "acme" else 777
    return (tenant, day, healthy + 6, healthy + 4, 0, 1, 0, Decimal("70.00"), healthy, 3, 2, 1, 0, healthy + 6)


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-reports-issue14-") as base:
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            cur.execute("drop schema if exists marts cascade")
            cur.execute("create schema marts")
            for statement in DDL:
                cur.execute(statement)
            for tenant, rows in COUNTRIES.items():
                for country, payments, gross, refunds, payers, share in rows:
                    cur.execute("insert into marts.fct_revenue_by_country_monthly values (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                                (tenant, MARCH, country, payments, gross, refunds,
                                 Decimal(gross) - Decimal(refunds), payers, share))
            for tenant, rows in CHANNELS.items():
                for channel, spend, users, paying, cac, ltv, ratio, payback in rows:
                    cur.execute("insert into marts.fct_acquisition_monthly values "
                                "(%s,%s,%s,%s,%s,%s,%s,'40.00',1,'0.0889',%s,%s,%s)",
                                (tenant, MARCH, channel, spend, users, paying, cac, ltv, ratio, payback))
            for tenant in COUNTRIES:
                day = date(2024, 1, 1)
                while day <= date(2024, 3, 31):
                    cur.execute("insert into marts.fct_customer_health_daily values "
                                "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", health_row(tenant, day))
                    day += timedelta(days=1)
            conn.commit()
        yield base


@pytest.fixture(scope="module")
def rendered(warehouse: Path) -> dict[str, Path]:
    with db.connection("warehouse") as conn:
        data = load_report_data(conn, COMPREHENSIVE, "acme", period_for(DUE, "monthly"),
                                COMPREHENSIVE.resolve_parameters({}), generated_at=DUE)
    paths = render_report(data, ["pdf", "csv", "xlsx", "html"], warehouse / "out")
    return {path.suffix.lstrip("."): path for path in paths}


def csv_values(path: Path, section: str) -> dict[tuple[str, str], str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["key"], row["metric"]): row["value"] for row in csv.DictReader(handle) if row["section"] == section}


def test_csv_has_the_three_sections_with_acme_figures(rendered):
    countries = csv_values(rendered["csv"], "revenue_revenue_by_country")
    assert countries[("US", "gross_revenue")] == "300.00" and countries[("US", "net_revenue")] == "290.00"
    assert countries[("US", "share")] == "0.7500" and countries[("DE", "unique_payers")] == "1"
    channels = csv_values(rendered["csv"], "revenue_ltv_cac")
    assert channels[("paid_social", "cac")] == "100.00" and channels[("paid_social", "ltv")] == "450.00"
    assert channels[("paid_social", "ltv_cac_ratio")] == "4.50" and channels[("organic", "ltv_cac_ratio")] == ""
    bands = csv_values(rendered["csv"], "customers_health_bands_trend")
    march = {metric: value for (key, metric), value in bands.items() if key.startswith("2024-03")}
    assert march == {"healthy": "8", "stable": "3", "at_risk_band": "2", "critical": "1"}
    text = rendered["csv"].read_text()
    assert "JP" not in text and "7777" not in text and "globex" not in text


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_pdf_has_the_three_sections(rendered):
    text = pdf_text(rendered["pdf"])
    for expected in ("Revenue by country", "LTV and CAC by channel", "Health bands over time"):
        assert expected in text, expected
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "US 300.00 10.00 290.00 3 2 75.0%" in lines
    assert "paid_social 500.00 40 5 100.00 450.00 4.5 5.0" in lines
    assert "JP" not in lines and "7,777.77" not in text


def test_xlsx_has_a_sheet_per_section_with_its_rows(rendered):
    book = openpyxl.load_workbook(rendered["xlsx"])
    assert {"Revenue by country", "LTV and CAC by channel", "Health bands over time"} <= set(book.sheetnames)
    # a breakdown sheet: key, label, then the aggregates in their order
    countries = [row for row in book["Revenue by country"].iter_rows(values_only=True) if row[0] in ("US", "DE")]
    assert [(row[0], Decimal(str(row[2]))) for row in countries] == [("US", Decimal("300")), ("DE", Decimal("100"))]
    channels = {row[0]: row for row in book["LTV and CAC by channel"].iter_rows(values_only=True)}
    assert Decimal(str(channels["paid_social"][5])) == Decimal("100")  # CAC
    assert Decimal(str(channels["paid_social"][7])) == Decimal("4.5") and channels["organic"][7] is None
    trend = {row[0]: row for row in book["Health bands over time"].iter_rows(values_only=True)}
    assert trend[datetime(2024, 3, 1)][-4:] == (8, 3, 2, 1)  # the March point: the bands on Mar 31


def test_html_has_the_three_sections(rendered):
    text = " ".join(re.sub(r"<[^>]+>", " ", rendered["html"].read_text(encoding="utf-8")).split())
    for expected in ("Revenue by country", "US 300.00 10.00 290.00 3 2 75.0%",
                     "LTV and CAC by channel", "paid_social 500.00 40 5 100.00 450.00 4.5 5.0",
                     "Health bands over time"):
        assert expected in text, expected
    assert "7,777.77" not in text and "JP " not in text
