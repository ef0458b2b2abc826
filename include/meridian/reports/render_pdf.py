"""The PDF format, drawn with reportlab (platypus for layout, reportlab.graphics for the chart).

Layout: a title block (report, tenant, period, generation time), then each
section of the report type in order: KPI tiles with the change on the
previous month, a line chart of the trend, tables; a section whose mart is
missing says "Not available" with the reason. Every page carries a footer with
the tenant, the period and "Page n of m".
"""

from __future__ import annotations

import io
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from meridian.reports.data import ReportData, SectionData
from meridian.reports.periods import month_start
from meridian.reports.registry import BREAKDOWN_TABLE, COUNT, KPI_TILES, METRIC_TABLE, TREND_CHART
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.summary import (
    Change,
    coverage_note,
    format_value,
    has_period_row,
    headline_tiles,
    metric_table_rows,
    month_label,
)

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
ACCENT = colors.HexColor("#2563eb")
GOOD = colors.HexColor("#15803d")
BAD = colors.HexColor("#b91c1c")
RULE = colors.HexColor("#d9e2ec")
TILE_BG = colors.HexColor("#f5f7fa")
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TILES_PER_ROW = 4


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle(
            "title", parent=base["Title"], alignment=TA_LEFT, textColor=INK, fontSize=20, leading=24, spaceAfter=2 * mm
        ),
        "meta": ParagraphStyle("meta", parent=base["Normal"], textColor=MUTED, fontSize=9.5, leading=13),
        "h2": ParagraphStyle(
            "h2",
            parent=base["Heading2"],
            textColor=INK,
            fontSize=13,
            leading=16,
            spaceBefore=6 * mm,
            spaceAfter=2.5 * mm,
        ),
        "body": ParagraphStyle("body", parent=base["Normal"], textColor=INK, fontSize=9.5, leading=12.5),
        "note": ParagraphStyle("note", parent=base["Italic"], textColor=MUTED, fontSize=9.5, leading=12.5),
        "tile_label": ParagraphStyle("tile_label", parent=base["Normal"], textColor=MUTED, fontSize=8, leading=10),
        "tile_value": ParagraphStyle(
            "tile_value", parent=base["Normal"], textColor=INK, fontName="Helvetica-Bold", fontSize=13, leading=16
        ),
        "tile_change": ParagraphStyle("tile_change", parent=base["Normal"], fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base["Normal"], textColor=INK, fontSize=9, leading=11),
    }


def _change_color(change: Change) -> colors.Color:
    if change.good is None:
        return MUTED
    return GOOD if change.good else BAD


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


class _NumberedCanvas(pdfcanvas.Canvas):
    """Defers page output to the end so each footer can say "Page n of m"."""

    footer_text = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        self.saveState()
        self.setStrokeColor(RULE)
        self.line(MARGIN, 12 * mm, PAGE_WIDTH - MARGIN, 12 * mm)
        self.setFont("Helvetica", 8)
        self.setFillColor(MUTED)
        self.drawString(MARGIN, 8 * mm, self.footer_text)
        self.drawRightString(PAGE_WIDTH - MARGIN, 8 * mm, f"Page {self._pageNumber} of {total}")
        self.restoreState()


def _title_block(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    period = data.period
    generated = data.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"<b>Tenant</b> {escape(data.tenant_id)}",
        f"<b>Period</b> {escape(period.label)} ({period.start.isoformat()} to {period.end.isoformat()}, "
        f"{escape(period.frequency)})",
        f"<b>Generated</b> {generated}",
    ]
    if data.report_name:
        lines.insert(0, f"<b>Report</b> {escape(data.report_name)}")
    flow: list[Any] = [
        Paragraph(f"Meridian {escape(data.report_type.title.lower())}", styles["title"]),
        Paragraph("<br/>".join(lines), styles["meta"]),
    ]
    note = coverage_note(data)
    if note:
        flow += [Spacer(1, 2 * mm), _paragraph(note, styles["note"])]
    return flow


def _unavailable(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> Paragraph | None:
    if not section.available:
        return _paragraph((section.note or "not available").capitalize() + ".", styles["note"])
    if section.section.kind != BREAKDOWN_TABLE and not has_period_row(data, section):
        return _paragraph(
            f"No data for {month_label(data.month)} in {section.section.table} for this tenant.", styles["note"]
        )
    return None


def _tiles(data: ReportData, styles: dict[str, ParagraphStyle]) -> Table:
    cells = []
    for tile in headline_tiles(data):
        change_style = ParagraphStyle("change", parent=styles["tile_change"], textColor=_change_color(tile.change))
        cells.append(
            [
                _paragraph(tile.label, styles["tile_label"]),
                _paragraph(tile.value, styles["tile_value"]),
                _paragraph(tile.change.text or " ", change_style),
            ]
        )
    rows = [cells[index : index + TILES_PER_ROW] for index in range(0, len(cells), TILES_PER_ROW)]
    if rows and len(rows[-1]) < TILES_PER_ROW:
        rows[-1] += [""] * (TILES_PER_ROW - len(rows[-1]))
    width = CONTENT_WIDTH / TILES_PER_ROW
    table = Table(rows, colWidths=[width] * TILES_PER_ROW)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), TILE_BG),
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 2, colors.white),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _axis_label(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:,.0f}"


def _trend_chart(data: ReportData, section: SectionData) -> Drawing:
    assert section.window_start is not None and section.window_end is not None
    months = []
    month = section.window_start
    while month <= section.window_end:
        months.append(month)
        month = month_start(month, 1)
    by_month = {row[section.section.period_column]: row for row in section.rows}
    series = []
    for metric in section.section.metrics:
        values = []
        for month in months:
            value = by_month.get(month, {}).get(metric.column)
            values.append(float(value) if value is not None else None)
        series.append(values)
    height = 62 * mm
    drawing = Drawing(CONTENT_WIDTH, height)
    chart = HorizontalLineChart()
    chart.x, chart.y = 14 * mm, 10 * mm
    chart.width, chart.height = CONTENT_WIDTH - 18 * mm, height - 16 * mm
    chart.data = series
    chart.categoryAxis.categoryNames = [f"{month_label(m, short=True)[:3]} {m.strftime('%y')}" for m in months]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = MUTED
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = _axis_label
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    present = [value for values in series for value in values if value is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    chart.valueAxis.valueMin = min(0.0, low)
    chart.valueAxis.valueMax = high * 1.1 if high > 0 else 1.0
    chart.lines[0].strokeColor = ACCENT
    chart.lines[0].strokeWidth = 2
    chart.joinedLines = 1
    drawing.add(chart)
    if not present:
        drawing.add(String(CONTENT_WIDTH / 2, height / 2, "no data", textAnchor="middle", fillColor=MUTED))
    return drawing


def _grid_style(header_rows: int = 1, total_row: bool = False) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", 8.5),
        ("FONT", (0, header_rows), (-1, -1), "Helvetica", 9),
        ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), MUTED),
        ("TEXTCOLOR", (0, header_rows), (-1, -1), INK),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.75, INK),
        ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, RULE),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total_row:
        commands += [("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 9), ("LINEABOVE", (0, -1), (-1, -1), 0.75, INK)]
    return TableStyle(commands)


def _breakdown_table(data: ReportData, section: SectionData) -> Table:
    definition = section.section
    currency = data.parameters.get("currency")
    header = [definition.group_by.replace("_", " ").capitalize() if definition.group_by else ""]
    header += [aggregate.label for aggregate in definition.aggregates]
    rows: list[list[str]] = [header]
    totals: dict[str, Any] = {
        aggregate.name: 0 if aggregate.kind == COUNT else Decimal("0.00") for aggregate in definition.aggregates
    }
    for row in section.rows:
        cells = [row["label"]]
        for aggregate in definition.aggregates:
            value = row[aggregate.name]
            totals[aggregate.name] += value if value is not None else 0
            cells.append(format_value(value, aggregate.kind, currency))
        rows.append(cells)
    rows.append(["Net"] + [format_value(totals[a.name], a.kind, currency) for a in definition.aggregates])
    first = CONTENT_WIDTH * 0.4
    rest = (CONTENT_WIDTH - first) / max(1, len(definition.aggregates))
    table = Table(rows, colWidths=[first] + [rest] * len(definition.aggregates))
    table.setStyle(_grid_style(total_row=True))
    return table


def _metric_table(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> Table:
    rows: list[list[Any]] = [["", month_label(data.month), month_label(data.previous_month), "Change"]]
    for row in metric_table_rows(data, section):
        change_style = ParagraphStyle("change", parent=styles["cell"], textColor=_change_color(row.change), alignment=2)
        text = row.change.text.split(" vs ")[0] if row.change.text else ""
        rows.append([row.label, row.current, row.previous, Paragraph(escape(text), change_style)])
    widths = [CONTENT_WIDTH * 0.34, CONTENT_WIDTH * 0.22, CONTENT_WIDTH * 0.22, CONTENT_WIDTH * 0.22]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_grid_style())
    return table


def _section_flowables(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    heading = _paragraph(section.section.title, styles["h2"])
    missing = _unavailable(data, section, styles)
    if missing is not None:
        return [KeepTogether([heading, missing])]
    kind = section.section.kind
    body: list[Any]
    if kind == KPI_TILES:
        body = [_tiles(data, styles)]
    elif kind == TREND_CHART:
        body = [_trend_chart(data, section)]
    elif kind == BREAKDOWN_TABLE:
        body = [_breakdown_table(data, section)]
    elif kind == METRIC_TABLE:
        body = [_metric_table(data, section, styles)]
    else:  # the registry checks kinds at import; this guards a new kind without a renderer
        raise ValueError(f"the PDF renderer has no layout for section kind {kind!r}")
    if section.section.description:
        body.append(Spacer(1, 1.5 * mm))
        body.append(_paragraph(section.section.description, styles["note"]))
    return [KeepTogether([heading, *body])]


def pdf_bytes(data: ReportData) -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    title = f"Meridian {data.report_type.title.lower()} — {data.tenant_id} — {data.period.label}"
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=20 * mm,
        title=title,
        author="Meridian",
        subject=f"{data.report_type.name} for tenant {data.tenant_id}, {data.period.start} to {data.period.end}",
    )
    story: list[Any] = _title_block(data, styles)
    for section in data.sections:
        story += _section_flowables(data, section, styles)

    footer = f"Meridian · {data.report_type.title} · {data.tenant_id} · {data.period.label}"
    canvas_class = type("ReportCanvas", (_NumberedCanvas,), {"footer_text": footer})
    doc.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()


def render_pdf(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.pdf", pdf_bytes(data))
