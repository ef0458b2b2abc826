"""The rendered reports as a reader sees them: the currency of every amount, the plain-text e-mail, the XLSX
sheet titles and headers, the PDF funnel page's use of space, the HTML charts' labels (in Chromium) and the
period a report covers (and why).

The marts are the generated ones of test_report_types (every section's mart, two tenants) plus
``marts.dim_tenants`` with each tenant's currency; every check reads a rendered file back (pdftotext and
pdftoppm, openpyxl, csv, the e-mail as the SMTP sink stored it, the HTML page in Chromium).
"""

from __future__ import annotations

import csv
import email
import html as htmllib
import io
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from pathlib import Path

import openpyxl
import pytest

from meridian import db
from meridian.delivery.deliver import deliver_due_reports
from meridian.delivery.message import build_message
from meridian.delivery.schema import ensure_delivery_schema
from meridian.demo.pipeline import print_report_periods
from meridian.mailsink import start_background, stop
from meridian.reports.data import load_report_data
from meridian.reports.model import MONEY
from meridian.reports.periods import period_for
from meridian.reports.registry import REPORT_TYPES, ReportConfigError
from meridian.reports.render import render_report
from meridian.reports.summary import format_value, tile_groups
from meridian.reports.tables import section_table
from tests.conftest import private_warehouse
from tests.unit.test_report_types import GENERATED_AT, create_marts

CURRENCY = {"acme": "EUR", "globex": "USD"}
DEMO_DELIVERY = datetime(2026, 10, 31, tzinfo=UTC)  # the demo's deliver_reports run: the start of its as-of date
OCTOBER_CLOSED = datetime(2026, 11, 1, tzinfo=UTC)  # the instant October 2026 closes
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MONEY_TEXT = re.compile(r"(?<![\d.,])-?\d{1,3}(?:,\d{3})*\.\d{2}(?![\d%])")


def add_tenants_and_event_types(conn) -> None:
    """``marts.dim_tenants`` with each tenant's currency, and the event types beyond the marts' own."""
    with conn.cursor() as cur:
        cur.execute("create table marts.dim_tenants (tenant_id text primary key, tenant_name text, currency text)")
        for tenant, currency in CURRENCY.items():
            cur.execute("insert into marts.dim_tenants values (%s, %s, %s)", (tenant, tenant.title(), currency))
        add_event_types(cur)
    conn.commit()


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse(
        "meridian-report-rendering-test-", create_marts, add_tenants_and_event_types, ensure_delivery_schema
    ) as base:
        yield base


MORE_EVENT_TYPES = ("level_up", "purchase", "share", "invite_sent", "profile_view", "search", "logout")


def add_event_types(cur) -> None:
    """Twelve event types, as the demo's tenants have: "Events by type" is then a dozen bars and rows long."""
    cur.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'fct_event_counts_daily'"
    )
    columns = [row[0] for row in cur.fetchall()]
    for number, name in enumerate(MORE_EVENT_TYPES):
        values = ", ".join(
            "%s" if column == "event_type" else (f"{column} * {number + 2} / 9" if column == "events" else column)
            for column in columns
        )
        cur.execute(
            f"insert into marts.fct_event_counts_daily ({', '.join(columns)}) "
            f"select {values} from marts.fct_event_counts_daily where event_type = 'app_open'",
            (name,),
        )


def load(report_name: str, as_of: datetime = DEMO_DELIVERY, tenant: str = "acme", parameters: dict | None = None):
    report_type = REPORT_TYPES[report_name]
    with db.connection("warehouse") as conn:
        return load_report_data(conn, report_type, tenant, period_for(as_of, "monthly"),
                                report_type.resolve_parameters(parameters or {}), generated_at=GENERATED_AT, as_of=as_of)


def pdf_text(path: Path, *pages: int) -> str:
    first_last = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    return subprocess.run(
        ["pdftotext", "-layout", *first_last, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def words(text: str) -> str:
    return " ".join(text.split())


def visible(page: str) -> str:
    """The text of an HTML page or part: tags dropped, entities decoded, whitespace collapsed."""
    return words(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def stored_mail(data, files: list[Path], tmp_path: Path) -> tuple[email.message.EmailMessage, bytes]:
    """The message as it arrives: built, sent over SMTP to the sink, parsed back from the stored bytes."""
    from meridian.smtp import parse_smtp_uri, send_message

    handle = start_background(0, mail_dir=tmp_path / "mail")
    try:
        message = build_message(data, files, ["cfo@acme.example.com"], sender="r@meridian.local", report_id=1)
        send_message(parse_smtp_uri(handle.uri, "the test sink"), message, attempts=1)
        (path,) = handle.messages()
        raw = path.read_bytes()
        return email.message_from_bytes(raw, policy=policy.default), raw
    finally:
        stop(handle)


# --- 1. money with its currency -------------------------------------------------------------------


def test_money_carries_the_tenants_currency_in_every_format(warehouse, tmp_path):
    data = load("comprehensive")
    assert (data.currency, data.currency_note) == ("EUR", None)
    pdf, csv_path, xlsx, html = render_report(data, ["pdf", "csv", "xlsx", "html"], tmp_path)
    money_tiles = [
        tile for _, tiles in tile_groups(data) for tile in tiles if tile.raw is not None and tile.value.endswith(" EUR")
    ]
    assert len(money_tiles) >= 8

    # PDF and HTML: every tile amount with its code; tables' money columns name it in the header; charts' axes
    text = words(pdf_text(pdf))
    page = html.read_text(encoding="utf-8")
    page_text = visible(page)
    for tile in money_tiles:
        assert tile.value in text, tile
        assert f"{tile.label} {tile.value}" in page_text, tile
    money_columns = [
        column.label
        for section in data.sections
        if section.section.kind in ("breakdown_table", "funnel") and section.section.show_table
        for column in section_table(data, section)[0]
        if column.kind == MONEY
    ]
    assert len(money_columns) >= 10
    assert text.count("(EUR)") >= len(money_columns)  # headers wrap ("Gross revenue" / "(EUR)") and repeat on a new page
    for label in money_columns:
        assert f"<th>{label} (EUR)</th>" in page, label
    money_charts = [
        s for s in data.sections if s.section.kind == "trend_chart" and all(m.kind == MONEY for m in s.section.metrics)
    ]
    assert len(money_charts) >= 2
    for section in money_charts:
        svg = page.split(f'id="{section.section.key}"', 1)[1].split("</svg>", 1)[0]
        assert '<text class="unit"' in svg and ">EUR</text>" in svg, section.section.key
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    axis_units = re.findall(r'<word xMin="([\d.]+)"[^>]*>EUR</word>', bbox)
    assert sum(1 for x in axis_units if float(x) < 60) >= len(money_charts)  # the code left of the value axis
    # no amount without its code: a two-decimal figure of the PDF is followed by EUR, or is a money column's cell
    column_cells = set(_money_column_cells(data))
    bare = [m.group(0) for m in MONEY_TEXT.finditer(text) if text[m.end() : m.end() + 4] != " EUR"]
    assert bare and all(value in column_cells for value in bare), [v for v in bare if v not in column_cells][:10]

    # XLSX: money cells stay numbers, formatted with the currency; the summary names it
    book = openpyxl.load_workbook(xlsx)
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Currency"] == "EUR" and summary["Money"] == "Money in EUR (the tenant's currency)."
    checked = 0
    for section, ws in zip(data.sections, book.worksheets[1:], strict=True):
        _, rows = section_table(data, section)
        for row_number, row in enumerate(rows, start=2):
            for column_number, (value, kind) in enumerate(row, start=1):
                if kind == MONEY and value is not None:
                    cell = ws.cell(row_number, column_number)
                    assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), cell
                    assert cell.number_format == '#,##0.00 "EUR"', (ws.title, cell.coordinate, cell.number_format)
                    checked += 1
    assert checked > 100

    # CSV: the values stay plain numbers; the last column names the currency of the money ones only
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kinds = _metric_kinds(data)
    money_rows = [row for row in rows if kinds.get((row["section"], row["metric"])) == MONEY]
    assert len(money_rows) > 100
    assert all(row["currency"] == "EUR" and (row["value"] == "" or Decimal(row["value"]) is not None)
               for row in money_rows)
    assert all(row["currency"] == "" for row in rows if kinds.get((row["section"], row["metric"])) != MONEY)
    assert not [row["value"] for row in money_rows if "EUR" in row["value"] or "," in row["value"]]

    # the e-mail, both parts
    message = build_message(data, [pdf], ["cfo@acme.example.com"], sender="r@meridian.local", report_id=1)
    plain = message.get_body(("plain",)).get_content()
    mail_html = visible(message.get_body(("html",)).get_content())
    mail_tiles = [tile for tile in money_tiles if tile.value in plain]
    assert mail_tiles and all(tile.value in mail_html for tile in mail_tiles)
    assert "Money in EUR (the tenant's currency)." in plain


def _metric_kinds(data) -> dict[tuple[str, str], str]:
    kinds = {}
    for section in data.sections:
        definition = section.section
        for metric in definition.metrics:
            kinds[(definition.key, metric.key)] = metric.kind
        for aggregate in definition.aggregates:
            kinds[(definition.key, aggregate.name)] = aggregate.kind
            kinds[(definition.key, f"total_{aggregate.name}")] = aggregate.kind
    return kinds


def _money_column_cells(data) -> list[str]:
    """The formatted cells of breakdown columns whose header carries the currency (plain numbers there)."""
    cells = []
    for section in data.sections:
        if section.section.kind in ("breakdown_table", "funnel") and section.available:
            _, rows = section_table(data, section)
            cells += [format_value(value, kind) for row in rows for value, kind in row if kind == MONEY and value is not None]
    return cells


def test_the_currency_parameter_must_be_the_tenants(warehouse):
    with pytest.raises(ReportConfigError) as caught:
        load("revenue_summary", parameters={"currency": "USD"})
    assert caught.value.field == "parameters.currency"
    assert "'USD' is not tenant 'acme''s currency 'EUR' (marts.dim_tenants.currency)" in str(caught.value)
    assert load("revenue_summary", tenant="globex").currency == "USD"
    with db.connection("warehouse") as conn:  # a tenant the table does not know yet: said, not guessed
        data = load_report_data(
            conn, REPORT_TYPES["revenue_summary"], "initech", period_for(DEMO_DELIVERY, "monthly"), {},
            generated_at=GENERATED_AT,
        )
    assert data.currency is None
    assert data.currency_note == "currency not known: marts.dim_tenants has no currency for tenant 'initech'"


# --- 2. the plain-text e-mail ----------------------------------------------------------------------

ESCAPES = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|N\{|n|t)")


def test_plain_text_mail_part_shows_real_characters(warehouse, tmp_path):
    data = load("revenue_summary")
    files = render_report(data, ["pdf", "csv"], tmp_path / "files")
    message, raw = stored_mail(data, files, tmp_path)
    assert raw.decode("ascii")  # 7-bit clean on the wire: no raw UTF-8 bytes for a relay or viewer to misread
    bodies = (message.get_body(("plain",)), message.get_body(("html",)))
    assert {part["Content-Transfer-Encoding"] for part in bodies} == {"quoted-printable"}
    plain = message.get_body(("plain",)).get_content()
    assert not ESCAPES.search(plain), ESCAPES.search(plain)
    assert "\\" not in plain
    assert message["Subject"] == "Meridian revenue summary — acme — September 2026"
    assert plain.splitlines()[-1] == "— Meridian" and "—" in plain
    html_part = message.get_body(("html",)).get_content()
    assert "\\u" not in html_part and "— Meridian" in html_part


# --- 3. XLSX sheet titles and headers ------------------------------------------------------------------


def test_xlsx_sheet_titles_and_headers_are_human_names(warehouse, tmp_path):
    expected = {
        "comprehensive": {"Revenue headline", "Users headline", "Sales reps", "Sales metrics", "Sales funnel",
                          "MRR trend", "Revenue by plan", "Customer success headline", "Tournaments headline"},
        "executive": {"Revenue", "Users", "Payments", "Sales", "Customer success", "Tournaments", "MRR",
                      "Daily active users"},
        "sales": {"Headline", "Sales metrics", "Sales reps", "Sales funnel"},
    }
    for name, wanted in expected.items():
        data = load(name)
        (xlsx,) = render_report(data, ["xlsx"], tmp_path / name)
        book = openpyxl.load_workbook(xlsx)
        titles = book.sheetnames[1:]
        assert book.sheetnames[0] == "Summary" and len(titles) == len(data.sections)
        assert wanted <= set(titles), sorted(wanted - set(titles))
        assert len({title.lower() for title in book.sheetnames}) == len(book.sheetnames)  # unique
        for title, section in zip(titles, data.sections, strict=True):
            assert 0 < len(title) <= 31, title
            lowered = title.lower().split()
            assert len(lowered) == len(set(lowered)), f"{title!r} repeats a word"
            assert title.lower().endswith(section.section.title.lower()), (title, section.section.title)
        statuses = [row[0] for row in book["Summary"].iter_rows(values_only=True)]
        assert set(titles) <= set(statuses)  # the summary lists the sheets by the same names
        for ws in book.worksheets[1:]:
            headers = [cell.value for cell in ws[1] if cell.value is not None]
            for header in headers:
                assert isinstance(header, str) and "_" not in header, (ws.title, header)
                assert not re.search(r"\bid$", header, re.IGNORECASE), (ws.title, header)  # "Plan id"
                lowered = header.lower().split()
                assert all(a != b for a, b in zip(lowered, lowered[1:], strict=False)), (ws.title, header)
    book = openpyxl.load_workbook(tmp_path / "comprehensive" / "comprehensive_acme_2026-09.xlsx")
    assert [c.value for c in book["Revenue by plan"][1]] == [
        "Plan", "Key", "Active subscriptions", "New", "Canceled", "MRR", "Gross revenue"
    ]
    assert [c.value for c in book["Sales reps"][1]] == ["Sales rep", "Key", "Deals closed", "Revenue", "Win rate"]
    assert [c.value for c in book["Revenue headline"][1]] == [
        "Metric", "Key", "September 2026", "August 2026", "Change", "Change %"
    ]
    assert book["Payments by hour of day (UTC)"]["A1"].value == "Hour (UTC)"


# --- 4. the PDF's pages are used ----------------------------------------------------------------------


def page_use(pdf: Path, page: int) -> tuple[float, float]:
    """(share of the content area's pixel rows with ink, how far down the content area the ink reaches) of a page
    rasterised at 50 dpi; the content area is the page less its 18 mm top and bottom margins (the footer)."""
    from PIL import Image

    png = subprocess.run(
        ["pdftoppm", "-r", "50", "-f", str(page), "-l", str(page), "-png", str(pdf)], check=True, capture_output=True
    ).stdout
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    top, bottom = round(height * 18 / 297), round(height * (297 - 18) / 297)
    pixels = image.load()
    inked = [y for y in range(top, bottom) if any(pixels[x, y] < 235 for x in range(width))]
    return len(inked) / (bottom - top), ((max(inked) - top) / (bottom - top) if inked else 0.0)


def test_pdf_funnel_page_shares_the_page_with_the_next_section(warehouse, tmp_path):
    data = load("comprehensive")
    (pdf,) = render_report(data, ["pdf"], tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    funnel = next(page for page in range(1, pages + 1) if "Onboarding funnel" in pdf_text(pdf, page, page))
    rows, reach = page_use(pdf, funnel)
    # before: the funnel alone, "Events by type" (a dozen bars and rows) pushed whole to the next page: ink on
    # 28% of the rows, down to 38% of the page
    assert rows >= 0.45 and reach >= 0.7, (funnel, rows, reach)
    for page in range(1, pages):  # no page but the last is left mostly blank
        assert page_use(pdf, page)[1] >= 0.7, page


# --- 5. HTML charts: every label inside its SVG, in Chromium ------------------------------------------

LABEL_BOXES_JS = """
() => [...document.querySelectorAll('svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {
        id: svg.closest('section').id,
        texts: [...svg.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect();
            return {text: t.textContent, out: Math.max(box.left - r.left, r.right - box.right,
                                                       box.top - r.top, r.bottom - box.bottom)};
        }),
    };
})
"""


def test_html_chart_labels_lie_inside_their_svg_in_chromium(warehouse, tmp_path):
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: this check renders the page in Debian's chromium (`make system-deps`)")
    pages = [render_report(load(name), ["html"], tmp_path / name)[0] for name in ("comprehensive", "executive")]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            checked = 0
            for width in (1400, 760):
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                for path in pages:
                    page.goto(path.as_uri())
                    charts = page.evaluate(LABEL_BOXES_JS)
                    assert len(charts) >= 2
                    for chart in charts:
                        for text in chart["texts"]:
                            assert text["out"] <= 0.5, (path.name, width, chart["id"], text)
                            checked += 1
                    page.screenshot(path=str(tmp_path / f"{path.stem}-{width}.png"), full_page=True)
                context.close()
            assert checked > 100
        finally:
            browser.close()


# --- 6. the period a report covers, and why -----------------------------------------------------------


def test_the_report_says_which_closed_period_it_covers_and_why(warehouse, tmp_path, monkeypatch, capsys):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("truncate reporting.report_deliveries, reporting.scheduled_reports restart identity")
        cur.execute(
            """insert into reporting.scheduled_reports (tenant_id, name, formats, recipients, next_run_at)
               values ('acme', 'Monthly revenue', '{pdf,csv,xlsx,html}', '{cfo@acme.example.com}', %s)""",
            (datetime(2026, 10, 1, tzinfo=UTC),),
        )
    handle = start_background(0, mail_dir=tmp_path / "mail")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", handle.uri)
    try:
        september = deliver_due_reports(DEMO_DELIVERY, out_dir=tmp_path / "out")  # the demo's run
        print_report_periods(DEMO_DELIVERY.date())  # the demo's closing output
        closing = capsys.readouterr().out
        october = deliver_due_reports(OCTOBER_CLOSED, out_dir=tmp_path / "out")  # the instant October closes
        stored = [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in handle.messages()]
    finally:
        stop(handle)
    assert [(r.status, r.period_start.isoformat()) for r in september + october] == [
        ("sent", "2026-09-01"), ("sent", "2026-10-01")
    ]
    why = {
        "September": (
            "Closed month September 2026 (2026-09-01 to 2026-09-30): the last month closed at the run's as-of "
            "instant 2026-10-31 00:00 UTC; October 2026 is still open then (it closes at 2026-11-01 00:00 UTC)."
        ),
        "October": (
            "Closed month October 2026 (2026-10-01 to 2026-10-31): the last month closed at the run's as-of "
            "instant 2026-11-01 00:00 UTC; November 2026 is still open then (it closes at 2026-12-01 00:00 UTC)."
        ),
    }
    assert closing.splitlines() == [
        f"    1 report(s) delivered: {why['September']}",
        "    (a run as of 2026-11-01 00:00 UTC covers October 2026: meridian reports run-now ID --as-of 2026-11-01)",
    ]
    assert [message["Subject"] for message in stored] == [
        "Meridian revenue summary — acme — September 2026", "Meridian revenue summary — acme — October 2026"
    ]
    for message, (month, statement) in zip(stored, why.items(), strict=True):
        plain = words(message.get_body(("plain",)).get_content())
        assert statement in plain
        assert statement in visible(message.get_body(("html",)).get_content())
        files = {part.get_filename().rsplit(".", 1)[1]: part.get_content() for part in message.iter_attachments()}
        pdf = tmp_path / f"{month}.pdf"
        pdf.write_bytes(files["pdf"])
        first_page = words(pdf_text(pdf, 1, 1))
        assert f"Meridian revenue summary: {month} 2026 {statement}" in first_page  # the title and its subtitle
        html_text = files["html"] if isinstance(files["html"], str) else files["html"].decode()
        assert f'<p class="subtitle">{statement}</p>' in html_text.replace("&#x27;", "'")
        xlsx = tmp_path / f"{month}.xlsx"
        xlsx.write_bytes(files["xlsx"])
        summary = {row[0]: row[1] for row in openpyxl.load_workbook(xlsx)["Summary"].iter_rows(values_only=True)}
        assert summary["Covers"] == statement
