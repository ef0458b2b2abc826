"""The PDF format, drawn with reportlab (platypus for layout, reportlab.graphics for the charts).

Layout: a title block (report and period, which closed period it covers and
why, tenant, the period it is compared with, the currency, generation time), then each section of the report type in order, under
an area heading where the report groups sections by area (executive,
comprehensive): KPI tiles with the change on the previous period, line charts
for trends, bar charts for breakdowns (MRR movements, failure reasons, hours,
resources), funnel steps as bars, the cohort retention heat-map as a table
with coloured cells, metric and breakdown tables; a section whose mart is
missing says "Not available" with the reason. Money shows the tenant's
currency: after each amount, in the header of a table's money columns, beside
the value axis of a money chart. A section's heading stays with its chart; a
table under a chart may continue on the next page (at least three rows on
each), so a long section does not leave the rest of a page blank. Two consecutive half-width
sections (the executive trends) share a row. Every page carries a footer with
the tenant, the period and "Page n of m".
"""

from __future__ import annotations

import io
import math
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from meridian.reports.data import ReportData, SectionData
from meridian.reports.registry import (
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    HEATMAP,
    HOUR_OF_DAY,
    KPI_TILES,
    METRIC_TABLE,
    MONEY,
    TREND_CHART,
)
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.summary import (
    Change,
    column_header,
    coverage_note,
    currency_statement,
    format_value,
    metric_table_rows,
    no_data_text,
    period_label,
    report_period_statement,
    scope_labels,
    section_table,
    section_tiles,
)

# attribute validation on every chart node costs about half of the drawing time; the charts here are fixed code
rl_config.shapeChecking = 0

INK = colors.HexColor("#1f2933")
MUTED_HEX = "#616e7c"
MUTED = colors.HexColor(MUTED_HEX)
ACCENT = colors.HexColor("#2563eb")
SECOND = colors.HexColor("#ea580c")
NEGATIVE = colors.HexColor("#dc2626")
GOOD = colors.HexColor("#15803d")
BAD = colors.HexColor("#b91c1c")
RULE = colors.HexColor("#d9e2ec")
TILE_BG = colors.HexColor("#f5f7fa")
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TILES_PER_ROW = 4
MIN_SPLIT_ROWS = 3  # a table split across pages keeps at least this many rows on each page
LINE_COLOURS = (ACCENT, SECOND, colors.HexColor("#9333ea"), colors.HexColor("#0d9488"))


def _styles(compact: bool = False) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    gap = 0.45 if compact else 1.0
    return {
        "title": ParagraphStyle(
            "title",
            parent=base["Title"],
            alignment=TA_LEFT,
            textColor=INK,
            fontSize=17 if compact else 20,
            leading=20 if compact else 24,
            spaceAfter=(1 if compact else 2) * mm,
        ),
        "meta": ParagraphStyle(
            "meta", parent=base["Normal"], textColor=MUTED, fontSize=8.5 if compact else 9.5, leading=11 if compact else 13
        ),
        "subtitle": ParagraphStyle(
            "subtitle",
            parent=base["Normal"],
            textColor=INK,
            fontSize=9.5 if compact else 10.5,
            leading=12 if compact else 14,
            spaceAfter=(1 if compact else 2) * mm,
        ),
        "area": ParagraphStyle(
            "area",
            parent=base["Heading1"],
            textColor=ACCENT,
            fontSize=15,
            leading=18,
            spaceBefore=7 * mm * gap,
            spaceAfter=0 if not compact else -2 * mm,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base["Heading2"],
            textColor=INK,
            fontSize=12.5 if compact else 13,
            leading=15,
            spaceBefore=5.5 * mm * gap,
            spaceAfter=2.2 * mm * gap,
        ),
        "body": ParagraphStyle("body", parent=base["Normal"], textColor=INK, fontSize=9.5, leading=12.5),
        "note": ParagraphStyle("note", parent=base["Italic"], textColor=MUTED, fontSize=8.5, leading=11),
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
        f"<b>Compared with</b> {escape(period_label(data.previous_period))}",
        f"<b>Currency</b> {escape(currency_statement(data))}",
        f"<b>Generated</b> {generated}",
    ]
    if data.report_name:
        lines.insert(0, f"<b>Report</b> {escape(data.report_name)}")
    flow: list[Any] = [
        Paragraph(f"Meridian {escape(data.report_type.title.lower())}: {escape(period.label)}", styles["title"]),
        _paragraph(report_period_statement(data), styles["subtitle"]),
        Paragraph("<br/>".join(lines), styles["meta"]),
    ]
    note = coverage_note(data)
    if note:
        flow += [Spacer(1, 2 * mm), _paragraph(note, styles["note"])]
    return flow


def _unavailable(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> Paragraph | None:
    if not section.available:
        return _paragraph((section.note or "not available").capitalize() + ".", styles["note"])
    if not section.has_data:
        return _paragraph(no_data_text(data, section), styles["note"])
    return None


def _money_markup(text: str, currency: str | None) -> str:
    """``1,234.50 EUR`` with the code set smaller, so a tile's amount keeps its line."""
    if currency and text.endswith(f" {currency}"):
        amount = text[: -len(currency) - 1]
        return f'{escape(amount)} <font size="8" color="{MUTED_HEX}">{escape(currency)}</font>'
    return escape(text)


def _tiles(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> Table:
    cells = []
    for tile in section_tiles(data, section):
        change_style = ParagraphStyle("change", parent=styles["tile_change"], textColor=_change_color(tile.change))
        cells.append(
            [
                _paragraph(tile.label, styles["tile_label"]),
                Paragraph(_money_markup(tile.value, data.currency), styles["tile_value"]),
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
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
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
    if magnitude and magnitude < 10 and value != int(value):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _value_range(values: list[float]) -> tuple[float, float]:
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low = min(0.0, low * 1.1)
    high = high * 1.1 if high > 0 else (1.0 if low == 0 else 0.0)
    return low, high


def _unit_label(drawing: Drawing, unit: str | None, x: float, y: float, anchor: str = "start") -> None:
    """The value axis's unit (the currency of money charts) beside its labels."""
    if unit:
        drawing.add(String(x, y, unit, fontSize=7, fillColor=MUTED, textAnchor=anchor, fontName="Helvetica-Bold"))


def money_unit(data: ReportData, kinds: list[str]) -> str | None:
    """The currency a chart's value axis is in: when every series is money and the currency is known."""
    return data.currency if kinds and all(kind == MONEY for kind in kinds) else None


def _trend_chart(
    section: SectionData, width: float = CONTENT_WIDTH, height: float = 60 * mm, unit: str | None = None
) -> Drawing:
    metrics = section.section.metrics
    series = [
        [float(point[metric.key]) if point.get(metric.key) is not None else None for point in section.rows]
        for metric in metrics
    ]
    drawing = Drawing(width, height)
    chart = HorizontalLineChart()
    legend = len(metrics) > 1
    chart.x, chart.y = 13 * mm, (13 if legend else 9) * mm
    chart.width, chart.height = width - 16 * mm, height - (19 if legend else 14) * mm
    chart.data = series
    labels = [point["label"] for point in section.rows]
    every = max(1, -(-len(labels) // (5 if width < CONTENT_WIDTH else 12)))
    chart.categoryAxis.categoryNames = [  # evenly spaced, counted back from the report's own period
        label if (len(labels) - 1 - index) % every == 0 else "" for index, label in enumerate(labels)
    ]
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
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = _value_range(present)
    if all(metric.kind == COUNT for metric in metrics):  # whole ticks: no "0.25 customers"
        low, high = chart.valueAxis.valueMin, chart.valueAxis.valueMax
        chart.valueAxis.valueStep = max(1, math.ceil((high - low) / 5))
        chart.valueAxis.valueMax = low + chart.valueAxis.valueStep * max(1, math.ceil((high - low) / chart.valueAxis.valueStep))
    for index in range(len(series)):
        chart.lines[index].strokeColor = LINE_COLOURS[index % len(LINE_COLOURS)]
        chart.lines[index].strokeWidth = 2
    chart.joinedLines = 1
    drawing.add(chart)
    _unit_label(drawing, unit, 1, height - 2.5 * mm)
    if legend:
        x = chart.x
        for index, metric in enumerate(metrics):
            colour = LINE_COLOURS[index % len(LINE_COLOURS)]
            drawing.add(Rect(x, 2 * mm, 6 * mm, 2 * mm, fillColor=colour, strokeColor=None))
            drawing.add(String(x + 8 * mm, 2 * mm, metric.label, fontSize=7.5, fillColor=INK))
            x += 12 * mm + len(metric.label) * 1.6 * mm
    if not present:
        drawing.add(String(width / 2, height / 2, "no data", textAnchor="middle", fillColor=MUTED))
    return drawing


def _bars(
    labels: list[str], values: list[float], *, vertical: bool, height: float | None = None, unit: str | None = None
) -> Drawing:
    """A bar chart of one series; negative values are drawn in red; ``unit`` names the value axis's unit."""
    if vertical:
        height = height or 48 * mm
        drawing = Drawing(CONTENT_WIDTH, height)
        chart: Any = VerticalBarChart()
        chart.x, chart.y = 13 * mm, 8 * mm
        chart.width, chart.height = CONTENT_WIDTH - 16 * mm, height - 12 * mm
        chart.categoryAxis.labels.fontSize = 6.5
        chart.categoryAxis.joinAxisMode = "bottom"
    else:
        height = height or max(22 * mm, (len(labels) * 6.2 + 10) * mm)
        drawing = Drawing(CONTENT_WIDTH, height)
        chart = HorizontalBarChart()
        chart.x, chart.y = 42 * mm, 6 * mm
        chart.width, chart.height = CONTENT_WIDTH - 50 * mm, height - 9 * mm
        chart.categoryAxis.labels.fontSize = 7.5
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.categoryAxis.labels.dx = -3
        chart.categoryAxis.joinAxisMode = "left"
        labels, values = labels[::-1], values[::-1]  # first category on top
    chart.data = [values]
    chart.categoryAxis.categoryNames = [label if len(label) <= 28 else label[:27] + "…" for label in labels]
    chart.categoryAxis.labels.fillColor = INK
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = _axis_label
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = _value_range(values)
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    for index, value in enumerate(values):
        if value < 0:
            chart.bars[(0, index)].fillColor = NEGATIVE
    chart.barSpacing = 1
    drawing.add(chart)
    if vertical:
        _unit_label(drawing, unit, 1, height - 2.5 * mm)
    else:  # under the category labels, level with the value axis's labels
        _unit_label(drawing, unit, chart.x - 4 * mm, 1.2 * mm, anchor="end")
    if not any(values):
        drawing.add(String(CONTENT_WIDTH / 2, height / 2, "all zero", textAnchor="middle", fillColor=MUTED))
    return drawing


def _grid_style(header_rows: int = 1, total_row: bool = False, font_size: float = 9) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", font_size - 0.5),
        ("FONT", (0, header_rows), (-1, -1), "Helvetica", font_size),
        ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), MUTED),
        ("TEXTCOLOR", (0, header_rows), (-1, -1), INK),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.75, INK),
        ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, RULE),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if total_row:
        commands += [
            ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", font_size),
            ("LINEABOVE", (0, -1), (-1, -1), 0.75, INK),
        ]
    return TableStyle(commands)


class _SplitTable(Table):
    """A table that splits across pages only with at least :data:`MIN_SPLIT_ROWS` rows on each page.

    Otherwise it moves to the next page whole, so a split never leaves a row or two (or a lone total) behind.
    """

    def split(self, availWidth: float, availHeight: float) -> list[Any]:  # noqa: N803 - reportlab's names
        parts = super().split(availWidth, availHeight)
        if len(parts) == 2:
            header = self.repeatRows if isinstance(self.repeatRows, int) else len(self.repeatRows)
            first, second = (len(part._cellvalues) - header for part in parts)
            if min(first, second) < MIN_SPLIT_ROWS:
                return []
        return parts


def _typed_table(data: ReportData, section: SectionData, skip: tuple[str, ...] = ("key",)) -> Table:
    """The section's table (summary.section_table) with display formatting."""
    currency = data.currency
    columns, rows = section_table(data, section)
    keep = [index for index, column in enumerate(columns) if column.name not in skip]
    header_style = ParagraphStyle(
        "header", fontName="Helvetica-Bold", fontSize=8 if len(keep) > 5 else 8.5, leading=9.5, textColor=MUTED
    )
    header = [
        Paragraph(
            escape(column_header(columns[index], currency)),
            header_style if position == 0 or columns[index].kind == "label" else _right(header_style),
        )
        for position, index in enumerate(keep)
    ]
    body = []
    for row in rows:
        cells = []
        for index in keep:
            value, kind = row[index]
            if kind in ("label", "date"):
                cells.append("" if value is None else str(value))
            else:
                cells.append(format_value(value, kind) if value is not None else "")  # the unit is in the header
        body.append(cells)
    first = CONTENT_WIDTH * (0.34 if len(keep) <= 5 else 0.26)
    rest = (CONTENT_WIDTH - first) / max(1, len(keep) - 1)
    table = _SplitTable([header, *body], colWidths=[first] + [rest] * (len(keep) - 1), repeatRows=1)
    total = section.section.kind == BREAKDOWN_TABLE and bool(section.section.total_label) and bool(section.rows)
    style = _grid_style(total_row=total, font_size=8.5 if len(keep) > 5 else 9)
    for position, index in enumerate(keep):
        if position and columns[index].kind == "label":
            style.add("ALIGN", (position, 0), (position, -1), "LEFT")
    table.setStyle(style)
    return table


def _right(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}_right", parent=style, alignment=2)


def _breakdown(data: ReportData, section: SectionData) -> list[Any]:
    definition = section.section
    body: list[Any] = []
    if definition.bars and section.rows:
        values = [float(row.get(definition.bars) or 0) for row in section.rows]
        labels = [row["label"] for row in section.rows]
        kinds = [item.kind for item in definition.aggregates if item.name == definition.bars]
        body.append(
            _bars(labels, values, vertical=definition.group_by == HOUR_OF_DAY, unit=money_unit(data, kinds))
        )
    if definition.show_table or not definition.bars:
        body.append(_typed_table(data, section))
    return body


def _metric_table(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    current_label, previous_label = scope_labels(section)
    rows: list[list[Any]] = [["", current_label, previous_label, "Change"]]
    table_rows = metric_table_rows(data, section)
    for row in table_rows:
        change_style = ParagraphStyle("change", parent=styles["cell"], textColor=_change_color(row.change), alignment=2)
        text = row.change.text.split(" vs ")[0] if row.change.text else ""
        rows.append([row.label, row.current, row.previous, Paragraph(escape(text), change_style)])
    widths = [CONTENT_WIDTH * 0.34, CONTENT_WIDTH * 0.22, CONTENT_WIDTH * 0.22, CONTENT_WIDTH * 0.22]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_grid_style())
    body: list[Any] = []
    if section.section.bars:
        body.append(
            _bars(
                [row.label for row in table_rows],
                [float(row.raw_current or 0) for row in table_rows],
                vertical=False,
                unit=money_unit(data, [row.metric.kind for row in table_rows if row.metric is not None]),
            )
        )
    body.append(table)
    return body


def _funnel(data: ReportData, section: SectionData) -> list[Any]:
    metric = section.section.metrics[0].column
    labels = [f"{row['step_number']}. {row['label']}" for row in section.rows]
    values = [float(row.get(metric) or 0) for row in section.rows]
    return [_bars(labels, values, vertical=False), Spacer(1, 1.5 * mm), _typed_table(data, section)]


def heat_colour(rate: Decimal | float | None) -> colors.Color:
    """White to the accent blue by retention (0 → white, 1 → blue)."""
    if rate is None:
        return colors.white
    share = max(0.0, min(1.0, float(rate)))
    base = (0x25 / 255, 0x63 / 255, 0xEB / 255)
    return colors.Color(*(1 - (1 - channel) * share for channel in base))


def _heatmap(data: ReportData, section: SectionData) -> Table:
    numbers = section.period_numbers
    header = ["Cohort", "Users"] + [str(n) for n in numbers]
    body = []
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 7.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
        ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, INK),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("INNERGRID", (2, 1), (-1, -1), 0.5, colors.white),
    ]
    size_key = section.section.metrics[1].column if len(section.section.metrics) > 1 else "cohort_size"
    for row_index, row in enumerate(section.rows, start=1):
        cells = [row["label"], format_value(row.get(size_key), "count")]
        for column_index, n in enumerate(numbers, start=2):
            rate = row.get(f"period_{n}")
            cells.append(format_value(rate, "rate") if rate is not None else "")
            style.append(("BACKGROUND", (column_index, row_index), (column_index, row_index), heat_colour(rate)))
            if rate is not None and float(rate) > 0.55:
                style.append(("TEXTCOLOR", (column_index, row_index), (column_index, row_index), colors.white))
        body.append(cells)
    first, size = 26 * mm, 15 * mm
    rest = (CONTENT_WIDTH - first - size) / max(1, len(numbers))
    table = Table([header, *body], colWidths=[first, size] + [rest] * len(numbers), repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def _section_body(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle], width: float) -> list[Any]:
    missing = _unavailable(data, section, styles)
    if missing is not None:
        return [missing]
    kind = section.section.kind
    body: list[Any]
    if kind == KPI_TILES:
        body = [_tiles(data, section, styles)]
    elif kind == TREND_CHART:
        height = 38 * mm if width < CONTENT_WIDTH else (52 * mm if section.section.area else 60 * mm)
        unit = money_unit(data, [metric.kind for metric in section.section.metrics])
        body = [_trend_chart(section, width, height, unit)]
    elif kind == BREAKDOWN_TABLE:
        body = _breakdown(data, section)
    elif kind == METRIC_TABLE:
        body = _metric_table(data, section, styles)
    elif kind == FUNNEL:
        body = _funnel(data, section)
    elif kind == HEATMAP:
        body = [_heatmap(data, section)]
    else:  # the registry checks kinds at import; this guards a new kind without a renderer
        raise ValueError(f"the PDF renderer has no layout for section kind {kind!r}")
    notes = [text for text in (section.caption, section.section.description) if text]
    if notes:
        note = [Spacer(1, 1.2 * mm), _paragraph(" ".join(notes), styles["note"])]
        if _chart_then_table(body):  # the note goes with the chart it explains; the table may start a new page
            return [body[0], *note, *body[1:]]
        body += note
    return body


def _chart_then_table(body: list[Any]) -> bool:
    """A chart with a table under it (bars and their figures): the table may continue on the next page."""
    return len(body) > 1 and isinstance(body[0], Drawing) and any(isinstance(item, Table) for item in body[1:])


def _story(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    story: list[Any] = _title_block(data, styles)
    area = None
    sections = data.sections
    index = 0
    while index < len(sections):
        section = sections[index]
        definition = section.section
        lead: list[Any] = []
        if definition.area and definition.area != area and definition.area != definition.title:
            lead.append(_paragraph(definition.area, styles["area"]))
        area = definition.area
        partner = sections[index + 1] if index + 1 < len(sections) else None
        if definition.width == "half" and partner is not None and partner.section.width == "half":
            half = CONTENT_WIDTH / 2 - 3 * mm
            cells = [
                [_paragraph(item.section.title, styles["h2"]), *_section_body(data, item, styles, half)]
                for item in (section, partner)
            ]
            pair = Table([cells], colWidths=[CONTENT_WIDTH / 2] * 2)
            pair.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            story.append(KeepTogether([*lead, pair]))
            index += 2
            continue
        heading = _paragraph(definition.title, styles["h2"])
        body = _section_body(data, section, styles, CONTENT_WIDTH)
        if _chart_then_table(body):
            # the heading stays with the chart and its note; the table under them may continue on the next page
            # (its header repeats), so a section that does not fit in the rest of a page no longer leaves it blank
            first_table = next(number for number, item in enumerate(body) if isinstance(item, Table))
            story += [KeepTogether([*lead, heading, *body[:first_table]]), *body[first_table:]]
        else:
            story.append(KeepTogether([*lead, heading, *body]))
        index += 1
    return story


def pdf_bytes(data: ReportData) -> bytes:
    compact = data.report_type.name == "executive"
    styles = _styles(compact)
    buffer = io.BytesIO()
    title = f"Meridian {data.report_type.title.lower()} — {data.tenant_id} — {data.period.label}"
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN if not compact else 14 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="Meridian",
        subject=f"{data.report_type.name} for tenant {data.tenant_id}, {data.period.start} to {data.period.end}",
    )
    footer = f"Meridian · {data.report_type.title} · {data.tenant_id} · {data.period.label}"
    canvas_class = type("ReportCanvas", (_NumberedCanvas,), {"footer_text": footer})
    doc.build(_story(data, styles), canvasmaker=canvas_class)
    return buffer.getvalue()


def render_pdf(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.pdf", pdf_bytes(data))
