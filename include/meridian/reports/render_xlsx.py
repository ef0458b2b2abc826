"""The XLSX format, written with openpyxl: a workbook for people who work the numbers further.

Sheets: "Summary" first (report, tenant, period, generation time, the
coverage note and each section's status), then one sheet per section of the
report type, named by the section's title. Cells are typed: money is a number
with the format ``#,##0.00`` (followed by the ``currency`` parameter's code
when set), rates are the marts' fractions with the format ``0.0%``, counts are
integers with ``#,##0``, months are dates. Every table has a bold header row
that stays frozen (``A2``) and columns sized to their contents. A section
whose mart is missing gets a sheet that says "Not available" and why. The
values are the marts' own (not rounded for display), so a sheet sums and
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
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from meridian.reports.data import ReportData, SectionData
from meridian.reports.periods import month_start
from meridian.reports.registry import BREAKDOWN_TABLE, COUNT, KPI_TILES, METRIC_TABLE, MONEY, RATE, TREND_CHART
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.summary import coverage_note, has_period_row, month_label

MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
MONTH_FORMAT = "mmm yyyy"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
SUMMARY_SHEET = "Summary"

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
    return f'{MONEY_FORMAT} "{currency}"' if currency else MONEY_FORMAT


def cell_value(value: Any, kind: str | None = None) -> Any:
    """A typed cell value: counts as int, money and rates as numbers (Decimal), dates as dates."""
    if value is None:
        return None
    if kind == COUNT:
        return int(value)
    if kind in (MONEY, RATE):
        return Decimal(value)
    return value


def _sheet_title(title: str, taken: set[str]) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip("' ")[:31] or "Section"
    name, counter = cleaned, 2
    while name.lower() in taken:
        suffix = f" ({counter})"
        name = cleaned[: 31 - len(suffix)] + suffix
        counter += 1
    taken.add(name.lower())
    return name


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


def _metric_sheet(ws: Worksheet, data: ReportData, section: SectionData) -> None:
    """KPI tiles and metric tables: metric | this period | previous period | change | change %."""
    currency = data.parameters.get("currency")
    _header(
        ws,
        ["Metric", "Column", month_label(data.month), month_label(data.previous_month), "Change", "Change %"],
    )
    current_row = section.row_for(data.month) or {}
    previous_row = section.row_for(data.previous_month) or {}
    for metric in section.section.metrics:
        fmt = number_format(metric.kind, currency)
        current = cell_value(current_row.get(metric.column), metric.kind)
        previous = cell_value(previous_row.get(metric.column), metric.kind)
        change = relative = None
        if current is not None and previous is not None:
            change = current - previous
            if metric.kind != RATE and previous != 0:
                relative = (Decimal(current) - Decimal(previous)) / abs(Decimal(previous))
        # a rate's change is a difference of fractions: shown as a percentage it reads as points
        _typed_row(
            ws,
            [
                (metric.label, None),
                (metric.column, None),
                (current, fmt),
                (previous, fmt),
                (change, fmt),
                (relative, RATE_FORMAT),
            ],
        )
    if not has_period_row(data, section):
        _note(ws, f"No data for {month_label(data.month)} in {section.section.table} for this tenant.")
    elif section.section.kind == METRIC_TABLE and any(m.kind == RATE for m in section.section.metrics):
        _note(ws, "Rates are fractions shown as percentages; their change is the difference in percentage points.")


def _trend_sheet(ws: Worksheet, data: ReportData, section: SectionData) -> None:
    definition = section.section
    currency = data.parameters.get("currency")
    _header(ws, ["Month"] + [metric.label for metric in definition.metrics])
    assert section.window_start is not None and section.window_end is not None
    by_month = {row[definition.period_column]: row for row in section.rows}
    month = section.window_start
    while month <= section.window_end:
        row = by_month.get(month, {})
        _typed_row(
            ws,
            [(month, MONTH_FORMAT)]
            + [
                (cell_value(row.get(metric.column), metric.kind), number_format(metric.kind, currency))
                for metric in definition.metrics
            ],
        )
        month = month_start(month, 1)
    last = ws.max_row
    if last >= 3 and section.rows:
        chart = LineChart()
        chart.title = definition.title
        chart.height, chart.width = 7.5, 16
        chart.legend.position = "b"
        chart.y_axis.numFmt = number_format(definition.metrics[0].kind) if definition.metrics else MONEY_FORMAT
        chart.x_axis.number_format = MONTH_FORMAT
        values = Reference(ws, min_col=2, max_col=1 + len(definition.metrics), min_row=1, max_row=last)
        chart.add_data(values, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
        ws.add_chart(chart, f"{get_column_letter(len(definition.metrics) + 3)}2")


def _breakdown_sheet(ws: Worksheet, data: ReportData, section: SectionData) -> None:
    definition = section.section
    assert definition.group_by is not None
    currency = data.parameters.get("currency")
    label = definition.group_by.replace("_", " ").capitalize()
    _header(ws, [label, "Key"] + [aggregate.label for aggregate in definition.aggregates])
    totals: dict[str, Any] = {
        aggregate.name: 0 if aggregate.kind == COUNT else Decimal("0.00") for aggregate in definition.aggregates
    }
    for row in section.rows:
        cells: list[tuple[Any, str | None]] = [(row["label"], None), (row[definition.group_by], None)]
        for aggregate in definition.aggregates:
            value = cell_value(row[aggregate.name], aggregate.kind)
            totals[aggregate.name] += value if value is not None else 0
            cells.append((value, number_format(aggregate.kind, currency)))
        _typed_row(ws, cells)
    _typed_row(
        ws,
        [("Net", None), (None, None)]
        + [(totals[a.name], number_format(a.kind, currency)) for a in definition.aggregates],
    )
    for cell in ws[ws.max_row]:
        cell.font = TOTAL_FONT
    if definition.description:
        _note(ws, definition.description)


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
        ("Figures for", month_label(data.month), None),
        ("Generated (UTC)", generated, DATETIME_FORMAT),
    ]
    currency = data.parameters.get("currency")
    if currency:
        rows.append(("Currency", currency, None))
    for label, value, fmt in rows:
        _typed_row(ws, [(label, None), (value, fmt)])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(horizontal="left")
    note = coverage_note(data)
    if note:
        _typed_row(ws, [("Note", None), (note, None)])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append(["Sheet", "Status"])
    for cell in ws[ws.max_row]:
        cell.font = HEADER_FONT
    for section in data.sections:
        status = "Available" if section.available else (section.note or "not available").capitalize()
        ws.append([section.section.title, status])
    _fit_columns(ws)
    ws.column_dimensions["B"].width = MAX_WIDTH


SECTION_SHEETS = {
    KPI_TILES: _metric_sheet,
    METRIC_TABLE: _metric_sheet,
    TREND_CHART: _trend_sheet,
    BREAKDOWN_TABLE: _breakdown_sheet,
}


def workbook(data: ReportData) -> Workbook:
    book = Workbook()
    _summary_sheet(book.active, data)
    taken = {SUMMARY_SHEET.lower()}
    for section in data.sections:
        ws = book.create_sheet(_sheet_title(section.section.title, taken))
        if not section.available:
            _unavailable_sheet(ws, section)
            continue
        build = SECTION_SHEETS.get(section.section.kind)
        if build is None:  # the registry checks kinds at import; this guards a new kind without a layout
            raise ValueError(f"the XLSX renderer has no layout for section kind {section.section.kind!r}")
        build(ws, data, section)
        _fit_columns(ws)
    book.properties.title = f"Meridian {data.report_type.title.lower()} — {data.tenant_id} — {data.period.label}"
    book.properties.creator = "Meridian"
    book.properties.subject = f"{data.report_type.name} for tenant {data.tenant_id}"
    created = data.generated_at.astimezone(UTC).replace(tzinfo=None)
    book.properties.created = book.properties.modified = created
    return book


def xlsx_bytes(data: ReportData) -> bytes:
    buffer = io.BytesIO()
    workbook(data).save(buffer)
    return buffer.getvalue()


def render_xlsx(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.xlsx", xlsx_bytes(data))
