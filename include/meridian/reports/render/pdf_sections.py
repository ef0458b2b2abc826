"""The PDF's body of each section kind: KPI tiles, charts with their tables, breakdowns, funnels, heat-maps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import (
    BREAKDOWN_TABLE,
    FUNNEL,
    HEATMAP,
    HOUR_OF_DAY,
    KPI_TILES,
    METRIC_TABLE,
    TREND_CHART,
)
from meridian.reports.render.pdf_charts import bars, money_unit, trend_chart
from meridian.reports.render.pdf_style import (
    CONTENT_WIDTH,
    INK,
    MIN_SPLIT_ROWS,
    MUTED,
    RULE,
    TILE_BG,
    TILES_PER_ROW,
    change_color,
    grid_style,
    money_markup,
    paragraph,
    right_aligned,
)
from meridian.reports.summary import (
    format_value,
    metric_table_rows,
    no_data_text,
    scope_labels,
    section_tiles,
)
from meridian.reports.tables import column_header, section_table


def unavailable(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> Paragraph | None:
    if not section.available:
        return paragraph((section.note or "not available").capitalize() + ".", styles["note"])
    if not section.has_data:
        return paragraph(no_data_text(data, section), styles["note"])
    return None


def tiles(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> Table:
    cells = []
    for tile in section_tiles(data, section):
        change_style = ParagraphStyle("change", parent=styles["tile_change"], textColor=change_color(tile.change))
        cells.append(
            [
                paragraph(tile.label, styles["tile_label"]),
                Paragraph(money_markup(tile.value, data.currency), styles["tile_value"]),
                paragraph(tile.change.text or " ", change_style),
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
            header_style if position == 0 or columns[index].kind == "label" else right_aligned(header_style),
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
    style = grid_style(total_row=total, font_size=8.5 if len(keep) > 5 else 9)
    for position, index in enumerate(keep):
        if position and columns[index].kind == "label":
            style.add("ALIGN", (position, 0), (position, -1), "LEFT")
    table.setStyle(style)
    return table


def _breakdown(data: ReportData, section: SectionData) -> list[Any]:
    definition = section.section
    body: list[Any] = []
    if definition.bars and section.rows:
        values = [float(row.get(definition.bars) or 0) for row in section.rows]
        labels = [row["label"] for row in section.rows]
        kinds = [item.kind for item in definition.aggregates if item.name == definition.bars]
        body.append(
            bars(labels, values, vertical=definition.group_by == HOUR_OF_DAY, unit=money_unit(data, kinds))
        )
    if definition.show_table or not definition.bars:
        body.append(_typed_table(data, section))
    return body


def _metric_table(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    current_label, previous_label = scope_labels(section)
    rows: list[list[Any]] = [["", current_label, previous_label, "Change"]]
    table_rows = metric_table_rows(data, section)
    for row in table_rows:
        change_style = ParagraphStyle("change", parent=styles["cell"], textColor=change_color(row.change), alignment=2)
        text = row.change.text.split(" vs ")[0] if row.change.text else ""
        rows.append([row.label, row.current, row.previous, Paragraph(escape(text), change_style)])
    widths = [CONTENT_WIDTH * 0.34, CONTENT_WIDTH * 0.22, CONTENT_WIDTH * 0.22, CONTENT_WIDTH * 0.22]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(grid_style())
    body: list[Any] = []
    if section.section.bars:
        body.append(
            bars(
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
    return [bars(labels, values, vertical=False), Spacer(1, 1.5 * mm), _typed_table(data, section)]


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


def section_body(data: ReportData, section: SectionData, styles: dict[str, ParagraphStyle], width: float) -> list[Any]:
    missing = unavailable(data, section, styles)
    if missing is not None:
        return [missing]
    kind = section.section.kind
    body: list[Any]
    if kind == KPI_TILES:
        body = [tiles(data, section, styles)]
    elif kind == TREND_CHART:
        height = 38 * mm if width < CONTENT_WIDTH else (52 * mm if section.section.area else 60 * mm)
        unit = money_unit(data, [metric.kind for metric in section.section.metrics])
        body = [trend_chart(section, width, height, unit)]
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
        note = [Spacer(1, 1.2 * mm), paragraph(" ".join(notes), styles["note"])]
        if chart_then_table(body):  # the note goes with the chart it explains; the table may start a new page
            return [body[0], *note, *body[1:]]
        body += note
    return body


def chart_then_table(body: list[Any]) -> bool:
    """A chart with a table under it (bars and their figures): the table may continue on the next page."""
    return len(body) > 1 and isinstance(body[0], Drawing) and any(isinstance(item, Table) for item in body[1:])
