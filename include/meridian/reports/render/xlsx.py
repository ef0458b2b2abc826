"""The XLSX format, written with openpyxl: a workbook for people who work the numbers further.

Sheets: "Summary" first (report, tenant, period, which closed period it
covers and why, the period it is compared with, the currency, generation time,
the coverage note and each sheet's status), then one sheet per section of the
report type, named by the section's title; where two sections of a report share
a title (the areas' "Headline" in the comprehensive report) the area leads it
("Revenue headline"). Column headers are the registry's labels ("Plan",
"Sales rep", the metrics' names). Each section sheet is the section's typed
table (:func:`meridian.reports.summary.section_table`): metric sections as
metric | name | this period | previous period | change | change %; trends as
one row per point (period start and end, a column per metric) with a line
chart; breakdowns as one row per group plus the totals row, with a bar chart
where the PDF draws bars; funnels per step with the recomputed conversions;
the retention heat-map as cohorts × periods with coloured cells.

Cells are typed: money is a number with the format ``#,##0.00 "EUR"`` (the
tenant's currency; ``#,##0.00`` while it is not known), rates are fractions with the
format ``0.0%``, counts are integers with ``#,##0``, other measures
``#,##0.0``, dates are dates. Every table has a bold header row that stays
frozen (``A2``) and columns sized to their contents. A section whose mart is
missing gets a sheet that says "Not available" and why. The values are the
ones the report computed (not rounded for display), so a sheet sums and
pivots like the CSV.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from meridian.reports.cells import protect_workbook
from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    HEATMAP,
    KPI_TILES,
    METRIC_TABLE,
    MONEY,
    NUMBER,
    RATE,
    TEXT,
    TREND_CHART,
    Section,
)
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.summary import (
    DATE,
    LABEL,
    coverage_note,
    currency_statement,
    period_label,
    report_period_statement,
)
from meridian.reports.tables import section_table

MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.0"
MONTH_FORMAT = "mmm yyyy"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
SUMMARY_SHEET = "Summary"
SHEET_TITLE_MAX = 31

HEADER_FONT = Font(bold=True, color="1F2933")
HEADER_FILL = PatternFill("solid", fgColor="F5F7FA")
TITLE_FONT = Font(bold=True, size=14, color="1F2933")
NOTE_FONT = Font(italic=True, color="616E7C")
TOTAL_FONT = Font(bold=True)
MIN_WIDTH, MAX_WIDTH = 10, 60


def number_format(kind: str, currency: str | None = None) -> str:
    if kind == RATE:
        return RATE_FORMAT
    if kind == COUNT:
        return COUNT_FORMAT
    if kind == NUMBER:
        return NUMBER_FORMAT
    return f'{MONEY_FORMAT} "{currency}"' if currency else MONEY_FORMAT


def cell_value(value: Any, kind: str | None = None) -> Any:
    """A typed cell value: counts as int, money and rates as numbers (Decimal), dates as dates."""
    if value is None:
        return None
    if kind == COUNT:
        return int(value)
    if kind in (MONEY, RATE, NUMBER):
        return Decimal(value)
    return value


def _fit_title(title: str) -> str:
    """A legal sheet title: no ``[]:*?/\\``, at most 31 characters, cut at a word."""
    cleaned = " ".join(re.sub(r"[\[\]:*?/\\]", " ", title).strip("' ").split()) or "Section"
    if len(cleaned) <= SHEET_TITLE_MAX:
        return cleaned
    cut = cleaned[: SHEET_TITLE_MAX + 1].rsplit(" ", 1)[0]
    return cut if 0 < len(cut) <= SHEET_TITLE_MAX else cleaned[:SHEET_TITLE_MAX]


def _with_area(area: str, title: str) -> str:
    """``Revenue`` + ``Headline`` → ``Revenue headline``; a title that already names its area stays as it is."""
    if title.lower().startswith(area.lower()):
        return title
    first = title.split(" ", 1)[0]
    lead = title if first.isupper() and len(first) > 1 else title[:1].lower() + title[1:]  # keep MRR, ARPU
    return f"{area} {lead}"


def sheet_titles(sections: list[Section]) -> list[str]:
    """A sheet title per section: its title, with its area where two sections of the report share a title.

    Titles are the registry's own (one place: :mod:`meridian.reports.registry`), never repeat a word of the
    area ("Sales reps" in area Sales stays "Sales reps"), fit Excel's 31 characters and are unique in the
    workbook (case-insensitive, "Summary" included).
    """
    counts: dict[str, int] = {}
    for section in sections:
        counts[section.title.lower()] = counts.get(section.title.lower(), 0) + 1
    taken = {SUMMARY_SHEET.lower()}
    titles = []
    for section in sections:
        wanted = section.title
        if counts[section.title.lower()] > 1 and section.area:
            wanted = _with_area(section.area, section.title)
        name = _fit_title(wanted)
        counter = 2
        while name.lower() in taken:
            suffix = f" ({counter})"
            name = _fit_title(wanted)[: SHEET_TITLE_MAX - len(suffix)].rstrip() + suffix
            counter += 1
        taken.add(name.lower())
        titles.append(name)
    return titles


def _display_length(value: Any, number_format_: str) -> int:
    if value is None:
        return 0
    if isinstance(value, (datetime, date)):
        return 16 if isinstance(value, datetime) else 10
    if isinstance(value, (int, float, Decimal)):
        if number_format_ == RATE_FORMAT:
            return len(f"{Decimal(value) * 100:.1f}%")
        text = f"{Decimal(value):,.2f}" if "0.00" in number_format_ else f"{int(value):,}"
        return len(text) + (len(number_format_) - len(MONEY_FORMAT) if number_format_.startswith(MONEY_FORMAT) else 0)
    return max(len(line) for line in str(value).splitlines() or [""])


def _fit_columns(ws: Worksheet, skip_rows: int = 0) -> None:
    widths: dict[int, int] = {}
    for row in ws.iter_rows(min_row=skip_rows + 1):
        for cell in row:
            if cell.font is not None and cell.font.i:  # notes overflow into the empty cells beside them
                continue
            length = _display_length(cell.value, cell.number_format)
            widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, length in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(MIN_WIDTH, length + 2))


def _header(ws: Worksheet, labels: list[str]) -> None:
    ws.append(labels)
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="left" if cell.column == 1 else "right", vertical="center")
    ws.freeze_panes = "A2"


def _typed_row(ws: Worksheet, values: list[tuple[Any, str | None]]) -> None:
    """Append a row of (value, number format or None)."""
    ws.append([value for value, _ in values])
    row = ws.max_row
    for column, (_, fmt) in enumerate(values, start=1):
        if fmt:
            ws.cell(row=row, column=column).number_format = fmt


def _note(ws: Worksheet, text: str) -> None:
    ws.append([])
    ws.append([text])
    ws.cell(row=ws.max_row, column=1).font = NOTE_FONT


def _unavailable_sheet(ws: Worksheet, section: SectionData) -> None:
    ws.append([section.section.title])
    ws["A1"].font = TITLE_FONT
    ws.append([(section.note or "not available").capitalize() + "."])
    ws["A2"].font = NOTE_FONT
    ws.append([f"Source: {section.section.table}"])
    ws["A3"].font = NOTE_FONT
    ws.column_dimensions["A"].width = min(MAX_WIDTH * 2, max(40, len(str(ws["A2"].value)) + 2))


def _cell_format(kind: str, currency: str | None) -> str | None:
    if kind == LABEL or kind == TEXT:
        return None
    if kind == DATE:
        return DATE_FORMAT
    return number_format(kind, currency)


def _table_sheet(ws: Worksheet, data: ReportData, section: SectionData) -> None:
    """Any section as its typed table (summary.section_table): a frozen header row, typed cells."""
    currency = data.currency
    columns, rows = section_table(data, section)
    _header(ws, [column.label for column in columns])
    for row in rows:
        _typed_row(ws, [(cell_value(value, kind), _cell_format(kind, currency)) for value, kind in row])
    definition = section.section
    if definition.kind == BREAKDOWN_TABLE and definition.total_label and section.rows:
        for cell in ws[ws.max_row]:
            cell.font = TOTAL_FONT
    if definition.kind == HEATMAP:
        for row in ws.iter_rows(min_row=2, min_col=3):
            for cell in row:
                if cell.value is not None:
                    cell.fill = PatternFill("solid", fgColor=_heat_hex(cell.value))
    if not section.has_data:
        _note(ws, f"No data for this period in {definition.table} for this tenant.")
    notes = [text for text in (section.caption, definition.description) if text]
    if definition.kind in (KPI_TILES, METRIC_TABLE) and any(m.kind == RATE for m in definition.metrics):
        notes.append("Rates are fractions shown as percentages; their change is the difference in percentage points.")
    for text in notes:
        _note(ws, text)
    _chart(ws, section, len(rows), len(columns), currency)


def _heat_hex(rate: Any) -> str:
    share = max(0.0, min(1.0, float(rate)))
    base = (0x25, 0x63, 0xEB)
    return "".join(f"{round(255 - (255 - channel) * share):02X}" for channel in base)


def _chart(ws: Worksheet, section: SectionData, rows: int, columns: int, currency: str | None = None) -> None:
    definition = section.section
    if rows < 2:
        return
    anchor = f"{get_column_letter(columns + 2)}2"
    if definition.kind == TREND_CHART:
        chart: Any = LineChart()
        first_value = 3
        values = Reference(ws, min_col=first_value, max_col=2 + len(definition.metrics), min_row=1, max_row=rows + 1)
        categories = Reference(ws, min_col=1, min_row=2, max_row=rows + 1)
        chart.y_axis.numFmt = number_format(definition.metrics[0].kind, currency) if definition.metrics else MONEY_FORMAT
    elif definition.kind == BREAKDOWN_TABLE and definition.bars:
        chart = BarChart()
        column = 3 + [a.name for a in definition.aggregates].index(definition.bars)
        bars = next(a for a in definition.aggregates if a.name == definition.bars)
        chart.y_axis.numFmt = number_format(bars.kind, currency)
        last = rows + 1 - (1 if definition.total_label and section.rows else 0)
        values = Reference(ws, min_col=column, max_col=column, min_row=1, max_row=last)
        categories = Reference(ws, min_col=1, min_row=2, max_row=last)
    elif definition.kind == FUNNEL:
        chart = BarChart()
        values = Reference(ws, min_col=3, max_col=3, min_row=1, max_row=rows + 1)
        categories = Reference(ws, min_col=2, min_row=2, max_row=rows + 1)
    else:
        return
    chart.title = definition.title
    chart.height, chart.width = 7.5, 16
    chart.legend.position = "b"
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(categories)
    ws.add_chart(chart, anchor)


def _summary_sheet(ws: Worksheet, data: ReportData) -> None:
    ws.title = SUMMARY_SHEET
    period = data.period
    generated = data.generated_at.astimezone(UTC).replace(tzinfo=None)
    _header(ws, ["Field", "Value"])
    ws["B1"].alignment = Alignment(horizontal="left")
    rows: list[tuple[str, Any, str | None]] = [("Report", f"Meridian {data.report_type.title.lower()}", None)]
    if data.report_name:
        rows.append(("Report name", data.report_name, None))
    rows += [
        ("Report type", data.report_type.name, None),
        ("Tenant", data.tenant_id, None),
        ("Period", period.label, None),
        ("Period start", period.start, DATE_FORMAT),
        ("Period end", period.end, DATE_FORMAT),
        ("Frequency", period.frequency, None),
        ("Covers", report_period_statement(data), None),
        ("Compared with", period_label(data.previous_period), None),
        ("Currency", data.currency or "not known", None),
        ("Money", currency_statement(data), None),
        ("Generated (UTC)", generated, DATETIME_FORMAT),
    ]
    for label, value, fmt in rows:
        _typed_row(ws, [(label, None), (value, fmt)])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(horizontal="left", wrap_text=label == "Covers")
    note = coverage_note(data)
    if note:
        _typed_row(ws, [("Note", None), (note, None)])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append(["Sheet", "Status"])
    for cell in ws[ws.max_row]:
        cell.font = HEADER_FONT
    for section, title in zip(data.sections, _sheet_titles(data), strict=True):
        status = "Available" if section.available else (section.note or "not available").capitalize()
        ws.append([title, status])
    _fit_columns(ws)
    ws.column_dimensions["B"].width = MAX_WIDTH


def _sheet_titles(data: ReportData) -> list[str]:
    return sheet_titles([section.section for section in data.sections])


def workbook(data: ReportData) -> Workbook:
    book = Workbook()
    _summary_sheet(book.active, data)
    for section, title in zip(data.sections, _sheet_titles(data), strict=True):
        ws = book.create_sheet(title)
        if not section.available:
            _unavailable_sheet(ws, section)
            continue
        _table_sheet(ws, data, section)
        _fit_columns(ws)
    book.properties.title = f"Meridian {data.report_type.title.lower()} — {data.tenant_id} — {data.period.label}"
    book.properties.creator = "Meridian"
    book.properties.subject = f"{data.report_type.name} for tenant {data.tenant_id}"
    created = data.generated_at.astimezone(UTC).replace(tzinfo=None)
    book.properties.created = book.properties.modified = created
    return protect_workbook(book)


def xlsx_bytes(data: ReportData) -> bytes:
    buffer = io.BytesIO()
    workbook(data).save(buffer)
    return buffer.getvalue()


def render_xlsx(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.xlsx", xlsx_bytes(data))
