"""The HTML charts: trend lines as inline SVG, bars as table rows with sized spans."""

from __future__ import annotations

import math
from typing import Any

from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import COUNT, MONEY
from meridian.reports.render.html_style import ACCENT, LINE_COLOURS, MUTED, NEGATIVE, RULE, escaped
from meridian.reports.summary import axis_label


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


SVG_FONT_SIZE = 11
# an upper bound of the advance of the labels' characters (digits, month names, "k", "M") in em, over the fonts
# the page names and their usual fallbacks (Helvetica/Arial/Liberation Sans 0.56-0.83, DejaVu Sans 0.64-0.86)
SVG_CHAR_EM = 0.72


def text_width(text: str, size: float = SVG_FONT_SIZE) -> float:
    """A generous estimate of ``text``'s rendered width in px, to size the chart's margins."""
    return len(text) * size * SVG_CHAR_EM


def trend_svg(data: ReportData, section: SectionData, width: int = 720, height: int = 240) -> str:
    """An inline SVG line chart of the section's metrics over its points (gaps where a point has no value).

    The margins are computed from the labels (the widest value label on the left, half of the first and last
    point labels at the edges), so no label is cut by the SVG's edge; a money chart names its currency above
    the value axis.
    """
    points = section.rows
    metrics = section.section.metrics
    series = [[float(p[m.key]) if p.get(m.key) is not None else None for p in points] for m in metrics]
    present = [value for values in series for value in values if value is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    y_min = min(0.0, low)
    top_value = high * 1.1 if high > 0 else 1.0
    step = _nice_step(top_value - y_min)
    if metrics and all(m.kind == COUNT for m in metrics):
        step = max(1.0, step)  # whole ticks for counts
    y_max = y_min + step * max(1, math.ceil((top_value - y_min) / step))
    ticks = []
    tick = y_min
    while tick <= y_max + step / 2:
        ticks.append(tick)
        tick += step
    every = max(1, -(-len(points) // (12 if width >= 600 else 6)))
    shown = [index for index in range(len(points)) if (len(points) - 1 - index) % every == 0]
    unit = data.currency if data.currency and metrics and all(m.kind == MONEY for m in metrics) else None
    edge = 4
    left = math.ceil(max([text_width(axis_label(value)) for value in ticks] + [text_width(unit or "")]) + 6 + edge)
    if shown:
        left = max(left, math.ceil(text_width(str(points[shown[0]]["label"])) / 2 + edge))
    right = max(12, math.ceil(text_width(str(points[-1]["label"])) / 2 + edge)) if points else 12
    top, bottom = (26 if unit else 14), 28
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(index: int) -> float:
        return left + (plot_w * index / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - y_min) / (y_max - y_min))

    title = (
        f"{section.section.title}, {points[0]['label']} to {points[-1]['label']}" if points else section.section.title
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escaped(title)}" font-family="Helvetica,Arial,sans-serif" font-size="{SVG_FONT_SIZE}">',
        f"<title>{escaped(title)}</title>",
    ]
    if unit:
        parts.append(
            f'<text class="unit" x="{left - 6}" y="12" text-anchor="end" fill="{MUTED}" font-weight="bold">'
            f"{escaped(unit)}</text>"
        )
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{RULE}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{MUTED}">{escaped(axis_label(tick))}</text>'
        )
    for index in shown:
        parts.append(
            f'<text x="{x(index):.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}">'
            f"{escaped(points[index]['label'])}</text>"
        )
    for number, values in enumerate(series):
        colour = LINE_COLOURS[number % len(LINE_COLOURS)]
        segments: list[list[str]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                segments.append([])
            else:
                segments[-1].append(f"{x(index):.1f},{y(value):.1f}")
        for segment in segments:
            if segment:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round" '
                    f'points="{" ".join(segment)}"/>'
                )
        if len(values) <= 40:
            for index, value in enumerate(values):
                if value is not None:
                    parts.append(
                        f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
                        f"<title>{escaped(points[index]['label'])}: {escaped(f'{value:,.2f}')}</title></circle>"
                    )
    if not present:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">no data</text>')
    parts.append("</svg>")
    legend = ""
    if len(metrics) > 1:
        legend = (
            '<p class="legend">'
            + "".join(
                f'<span><i style="background:{LINE_COLOURS[n % len(LINE_COLOURS)]}"></i>{escaped(m.label)}</span>'
                for n, m in enumerate(metrics)
            )
            + "</p>"
        )
    return f'<div class="chart">{"".join(parts)}</div>{legend}'


def bars_html(labels: list[str], values: list[Any], texts: list[str]) -> str:
    """Horizontal bars as a table (prints as drawn); negative values in red, from the same left edge."""
    numbers = [float(value or 0) for value in values]
    scale = max((abs(number) for number in numbers), default=0) or 1.0
    rows = []
    for label, number, text in zip(labels, numbers, texts, strict=True):
        width = abs(number) / scale * 100
        colour = NEGATIVE if number < 0 else ACCENT
        rows.append(
            f'<tr><th scope="row">{escaped(label)}</th><td class="bar"><span style="width:{width:.1f}%;'
            f'background:{colour}"></span></td><td>{escaped(text)}</td></tr>'
        )
    return f'<table class="bars">{"".join(rows)}</table>'
