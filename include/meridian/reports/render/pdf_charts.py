"""The PDF's charts (reportlab.graphics): trend lines and bars, with the money unit beside the value axis."""

from __future__ import annotations

import math
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib.units import mm

from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import COUNT, MONEY
from meridian.reports.render.pdf_style import ACCENT, CONTENT_WIDTH, INK, LINE_COLOURS, MUTED, NEGATIVE, RULE
from meridian.reports.summary import axis_label


def style_value_axis(axis: Any) -> None:
    """The value axis of every chart: small muted ticks (:func:`axis_label`) and a grid in the rule colour."""
    axis.labels.fontSize = 7
    axis.labels.fillColor = MUTED
    axis.labelTextFormat = axis_label
    axis.strokeColor = RULE
    axis.visibleGrid = True
    axis.gridStrokeColor = RULE


def value_range(values: list[float]) -> tuple[float, float]:
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low = min(0.0, low * 1.1)
    high = high * 1.1 if high > 0 else (1.0 if low == 0 else 0.0)
    return low, high


def unit_label(drawing: Drawing, unit: str | None, x: float, y: float, anchor: str = "start") -> None:
    """The value axis's unit (the currency of money charts) beside its labels."""
    if unit:
        drawing.add(String(x, y, unit, fontSize=7, fillColor=MUTED, textAnchor=anchor, fontName="Helvetica-Bold"))


def money_unit(data: ReportData, kinds: list[str]) -> str | None:
    """The currency a chart's value axis is in: when every series is money and the currency is known."""
    return data.currency if kinds and all(kind == MONEY for kind in kinds) else None


def trend_chart(
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
    style_value_axis(chart.valueAxis)
    present = [value for values in series for value in values if value is not None]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = value_range(present)
    if all(metric.kind == COUNT for metric in metrics):  # whole ticks: no "0.25 customers"
        low, high = chart.valueAxis.valueMin, chart.valueAxis.valueMax
        chart.valueAxis.valueStep = max(1, math.ceil((high - low) / 5))
        chart.valueAxis.valueMax = low + chart.valueAxis.valueStep * max(1, math.ceil((high - low) / chart.valueAxis.valueStep))
    for index in range(len(series)):
        chart.lines[index].strokeColor = LINE_COLOURS[index % len(LINE_COLOURS)]
        chart.lines[index].strokeWidth = 2
    chart.joinedLines = 1
    drawing.add(chart)
    unit_label(drawing, unit, 1, height - 2.5 * mm)
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


def bars(
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
    style_value_axis(chart.valueAxis)
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = value_range(values)
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    for index, value in enumerate(values):
        if value < 0:
            chart.bars[(0, index)].fillColor = NEGATIVE
    chart.barSpacing = 1
    drawing.add(chart)
    if vertical:
        unit_label(drawing, unit, 1, height - 2.5 * mm)
    else:  # under the category labels, level with the value axis's labels
        unit_label(drawing, unit, chart.x - 4 * mm, 1.2 * mm, anchor="end")
    if not any(values):
        drawing.add(String(CONTENT_WIDTH / 2, height / 2, "all zero", textAnchor="middle", fillColor=MUTED))
    return drawing
