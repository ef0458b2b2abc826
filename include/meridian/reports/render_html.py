"""The HTML format: one self-contained, print-ready page; and the HTML body of the report e-mail.

The page has no external assets (inline CSS, trend charts as inline SVG, bar
charts as table rows with sized spans, no scripts, fonts or images fetched),
so it opens offline, from an attachment or an archive, and prints on A4
(``@media print`` / ``@page`` rules keep tiles, tables and charts from
splitting across pages). Layout follows the PDF: a title block (report and
period, which closed period it covers and why, tenant, the period it is
compared with, the currency, generation time), then each
section in order under its area heading: KPI tiles with the change on the
previous period, trends as line charts, bars for breakdowns and funnels, the
retention heat-map with coloured cells, metric and breakdown tables; a
section whose mart is missing says "Not available" and why.

:func:`email_html` builds the e-mail's HTML alternative with the headline
KPIs inline (table layout and inline styles only, as mail clients drop
``<style>`` blocks). Every value from the warehouse or the report's
configuration is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC
from html import escape
from pathlib import Path
from typing import Any

from meridian.reports.data import ReportData, SectionData
from meridian.reports.registry import (
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    HEATMAP,
    KPI_TILES,
    METRIC_TABLE,
    MONEY,
    TREND_CHART,
)
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.summary import (
    DATE,
    LABEL,
    Change,
    Tile,
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
    tile_groups,
)

INK = "#1f2933"
MUTED = "#616e7c"
ACCENT = "#2563eb"
GOOD = "#15803d"
BAD = "#b91c1c"
RULE = "#d9e2ec"
TILE_BG = "#f5f7fa"
NEGATIVE = "#dc2626"
LINE_COLOURS = (ACCENT, "#ea580c", "#9333ea", "#0d9488")

CSS = f"""
*{{box-sizing:border-box}}
html{{-webkit-text-size-adjust:100%}}
body{{margin:0;background:#fff;color:{INK};font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}}
main{{max-width:960px;margin:0 auto;padding:32px 28px 24px}}
h1{{font-size:26px;line-height:1.2;margin:0 0 8px}}
h2{{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid {RULE}}}
.subtitle{{margin:0 0 10px;font-size:15px}}
.meta{{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;color:{MUTED}}}
.meta dt{{font-weight:600;color:{INK}}}
.meta dd{{margin:0}}
.note{{color:{MUTED};font-style:italic;margin:8px 0 0}}
.tiles{{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px}}
.tile{{background:{TILE_BG};border:1px solid {RULE};border-radius:6px;padding:10px 12px}}
.tile .label{{color:{MUTED};font-size:12px}}
.tile .value{{font-size:20px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}}
.tile .change{{font-size:12px}}
.good{{color:{GOOD}}} .bad{{color:{BAD}}} .flat{{color:{MUTED}}}
table{{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}}
th,td{{padding:5px 8px;border-bottom:1px solid {RULE};text-align:right}}
th:first-child,td:first-child{{text-align:left}}
thead th{{color:{MUTED};font-size:12px;font-weight:600;border-bottom:1.5px solid {INK}}}
tr.total td{{font-weight:700;border-top:1.5px solid {INK};border-bottom:none}}
.chart svg{{width:100%;height:auto;display:block}}
h2.area{{font-size:21px;color:{ACCENT};border-bottom:2px solid {ACCENT};margin-top:36px}}
.pair{{display:grid;grid-template-columns:1fr 1fr;gap:16px}}
.legend span{{margin-right:14px;font-size:12px;color:{MUTED}}}
.legend i{{display:inline-block;width:14px;height:4px;margin-right:5px;vertical-align:middle}}
table.bars{{margin-bottom:10px}}
table.bars th{{font-weight:400;width:30%;border:none;padding:2px 8px 2px 0;text-align:right}}
table.bars td{{border:none;padding:2px 4px;width:12%}}
table.bars td.bar{{width:58%;text-align:left}}
table.bars td.bar span{{display:inline-block;height:12px;border-radius:2px;vertical-align:middle}}
table.heatmap td,table.heatmap th{{text-align:center;font-size:12px;padding:4px}}
table.heatmap td:first-child,table.heatmap th:first-child{{text-align:left}}
td.heat{{border:1px solid #fff}}
footer{{margin-top:32px;padding-top:8px;border-top:1px solid {RULE};color:{MUTED};font-size:12px}}
@media (max-width:640px){{.tiles{{grid-template-columns:repeat(2,minmax(0,1fr))}}}}
@page{{size:A4;margin:16mm 14mm 18mm}}
@media print{{
  body{{font-size:10.5pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
  main{{max-width:none;padding:0}}
  h2{{break-after:avoid;page-break-after:avoid}}
  section,.tile,.chart,tr{{break-inside:avoid;page-break-inside:avoid}}
  thead{{display:table-header-group}}
  .tiles{{grid-template-columns:repeat(4,minmax(0,1fr))}}
  .pair,table.bars,table.heatmap{{break-inside:avoid;page-break-inside:avoid}}
  a{{color:inherit;text-decoration:none}}
}}
""".strip()


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _change_class(change: Change) -> str:
    if change.good is None:
        return "flat"
    return "good" if change.good else "bad"


def _change_color(change: Change) -> str:
    return {"good": GOOD, "bad": BAD}.get(_change_class(change), MUTED)


def heading(data: ReportData) -> str:
    return f"Meridian {data.report_type.title.lower()} — {data.tenant_id} — {data.period.label}"


def intro(data: ReportData) -> str:
    """The e-mail's first lines: the report, the period it covers and why, the currency."""
    return (
        f"{data.report_type.title} for {data.tenant_id}, {data.period.label}. "
        f"{report_period_statement(data)} {currency_statement(data)}"
    )


def _generated(data: ReportData) -> str:
    return data.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- the page -----------------------------------------------------------------------------------


def _title_block(data: ReportData) -> str:
    period = data.period
    items: list[tuple[str, str]] = []
    if data.report_name:
        items.append(("Report", data.report_name))
    items += [
        ("Tenant", data.tenant_id),
        (
            "Period",
            f"{period.label} ({period.start.isoformat()} to {period.end.isoformat()}, {period.frequency})",
        ),
        ("Compared with", period_label(data.previous_period)),
        ("Currency", currency_statement(data)),
        ("Generated", _generated(data)),
    ]
    meta = "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in items)
    parts = [
        "<header>",
        f"<h1>Meridian {_e(data.report_type.title.lower())}: {_e(period.label)}</h1>",
        f'<p class="subtitle">{_e(report_period_statement(data))}</p>',
        f'<dl class="meta">{meta}</dl>',
    ]
    note = coverage_note(data)
    if note:
        parts.append(f'<p class="note">{_e(note)}</p>')
    parts.append("</header>")
    return "".join(parts)


def _unavailable(data: ReportData, section: SectionData) -> str | None:
    if not section.available:
        return f'<p class="note">{_e((section.note or "not available").capitalize() + ".")}</p>'
    if not section.has_data:
        return f'<p class="note">{_e(no_data_text(data, section))}</p>'
    return None


def _tiles(data: ReportData, section: SectionData) -> str:
    tiles = []
    for tile in section_tiles(data, section):
        tiles.append(
            '<div class="tile">'
            f'<div class="label">{_e(tile.label)}</div>'
            f'<div class="value">{_e(tile.value)}</div>'
            f'<div class="change {_change_class(tile.change)}">{_e(tile.change.text) or "&nbsp;"}</div>'
            "</div>"
        )
    return f'<div class="tiles">{"".join(tiles)}</div>'


def axis_label(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.0f}k"
    if magnitude and magnitude < 10 and value != int(value):
        return f"{value:.2f}"
    return f"{value:,.0f}"


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
        f'aria-label="{_e(title)}" font-family="Helvetica,Arial,sans-serif" font-size="{SVG_FONT_SIZE}">',
        f"<title>{_e(title)}</title>",
    ]
    if unit:
        parts.append(
            f'<text class="unit" x="{left - 6}" y="12" text-anchor="end" fill="{MUTED}" font-weight="bold">'
            f"{_e(unit)}</text>"
        )
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{RULE}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{MUTED}">{_e(axis_label(tick))}</text>'
        )
    for index in shown:
        parts.append(
            f'<text x="{x(index):.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}">'
            f"{_e(points[index]['label'])}</text>"
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
                        f"<title>{_e(points[index]['label'])}: {_e(f'{value:,.2f}')}</title></circle>"
                    )
    if not present:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">no data</text>')
    parts.append("</svg>")
    legend = ""
    if len(metrics) > 1:
        legend = (
            '<p class="legend">'
            + "".join(
                f'<span><i style="background:{LINE_COLOURS[n % len(LINE_COLOURS)]}"></i>{_e(m.label)}</span>'
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
            f'<tr><th scope="row">{_e(label)}</th><td class="bar"><span style="width:{width:.1f}%;'
            f'background:{colour}"></span></td><td>{_e(text)}</td></tr>'
        )
    return f'<table class="bars">{"".join(rows)}</table>'


def _typed_table(data: ReportData, section: SectionData, skip: tuple[str, ...] = ("key",)) -> str:
    currency = data.currency
    columns, rows = section_table(data, section)
    keep = [index for index, column in enumerate(columns) if column.name not in skip]
    head = "".join(f"<th>{_e(column_header(columns[index], currency))}</th>" for index in keep)
    body = []
    has_total = section.section.kind == BREAKDOWN_TABLE and bool(section.section.total_label) and bool(section.rows)
    for number, row in enumerate(rows, start=1):
        cells = []
        for index in keep:
            value, kind = row[index]
            text = (
                "" if value is None else (str(value) if kind in (LABEL, DATE) else format_value(value, kind))
            )
            cells.append(f"<td>{_e(text)}</td>")
        css = ' class="total"' if has_total and number == len(rows) else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _breakdown(data: ReportData, section: SectionData) -> str:
    definition = section.section
    currency = data.currency
    parts = []
    if definition.bars and section.rows:
        kind = next(item.kind for item in definition.aggregates if item.name == definition.bars)
        values = [row.get(definition.bars) for row in section.rows]
        parts.append(
            bars_html([row["label"] for row in section.rows], values, [format_value(v, kind, currency) for v in values])
        )
    if definition.show_table or not definition.bars:
        parts.append(_typed_table(data, section))
    return "".join(parts)


def _metric_table(data: ReportData, section: SectionData) -> str:
    current_label, previous_label = scope_labels(section)
    head = "".join(f"<th>{_e(label)}</th>" for label in ("", current_label, previous_label, "Change"))
    body = []
    rows = metric_table_rows(data, section)
    for row in rows:
        text = row.change.text.split(" vs ")[0] if row.change.text else ""
        body.append(
            f"<tr><td>{_e(row.label)}</td><td>{_e(row.current)}</td><td>{_e(row.previous)}</td>"
            f'<td class="{_change_class(row.change)}">{_e(text)}</td></tr>'
        )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if section.section.bars:
        table = (
            bars_html([row.label for row in rows], [row.raw_current for row in rows], [row.current for row in rows])
            + table
        )
    return table


def _funnel(data: ReportData, section: SectionData) -> str:
    metric = section.section.metrics[0]
    values = [row.get(metric.column) for row in section.rows]
    labels = [f"{row['step_number']}. {row['label']}" for row in section.rows]
    return bars_html(labels, values, [format_value(v, metric.kind) for v in values]) + _typed_table(data, section)


def heat_colour(rate: Any) -> str:
    if rate is None:
        return "#ffffff"
    share = max(0.0, min(1.0, float(rate)))
    return "#" + "".join(f"{round(255 - (255 - channel) * share):02x}" for channel in (0x25, 0x63, 0xEB))


def _heatmap(data: ReportData, section: SectionData) -> str:
    size_key = section.section.metrics[1].column if len(section.section.metrics) > 1 else "cohort_size"
    head = "<th>Cohort</th><th>Users</th>" + "".join(f"<th>{n}</th>" for n in section.period_numbers)
    body = []
    for row in section.rows:
        cells = [f"<td>{_e(row['label'])}</td><td>{_e(format_value(row.get(size_key), 'count'))}</td>"]
        for n in section.period_numbers:
            rate = row.get(f"period_{n}")
            ink = "#ffffff" if rate is not None and float(rate) > 0.55 else INK
            text = format_value(rate, "rate") if rate is not None else ""
            cells.append(f'<td class="heat" style="background:{heat_colour(rate)};color:{ink}">{_e(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="heatmap"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _section_body(data: ReportData, section: SectionData) -> str:
    missing = _unavailable(data, section)
    if missing is not None:
        return missing
    kind = section.section.kind
    if kind == KPI_TILES:
        body = _tiles(data, section)
    elif kind == TREND_CHART:
        body = trend_svg(data, section, 360 if section.section.width == "half" else 720)
    elif kind == BREAKDOWN_TABLE:
        body = _breakdown(data, section)
    elif kind == METRIC_TABLE:
        body = _metric_table(data, section)
    elif kind == FUNNEL:
        body = _funnel(data, section)
    elif kind == HEATMAP:
        body = _heatmap(data, section)
    else:  # the registry checks kinds at import; this guards a new kind without a layout
        raise ValueError(f"the HTML renderer has no layout for section kind {kind!r}")
    for text in (section.caption, section.section.description):
        if text:
            body += f'<p class="note">{_e(text)}</p>'
    return body


def _section(data: ReportData, section: SectionData) -> str:
    definition = section.section
    css = ' class="half"' if definition.width == "half" else ""
    return (
        f'<section id="{_e(definition.key)}"{css}><h2>{_e(definition.title)}</h2>'
        f"{_section_body(data, section)}</section>"
    )


def _sections(data: ReportData) -> str:
    parts = []
    area = None
    sections = data.sections
    index = 0
    while index < len(sections):
        definition = sections[index].section
        if definition.area and definition.area != area and definition.area != definition.title:
            parts.append(f'<h2 class="area">{_e(definition.area)}</h2>')
        area = definition.area
        if definition.width == "half" and index + 1 < len(sections) and sections[index + 1].section.width == "half":
            parts.append(
                f'<div class="pair">{_section(data, sections[index])}{_section(data, sections[index + 1])}</div>'
            )
            index += 2
            continue
        parts.append(_section(data, sections[index]))
        index += 1
    return "\n".join(parts)


def html_document(data: ReportData) -> str:
    footer = f"Meridian · {data.report_type.title} · {data.tenant_id} · {data.period.label}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="Meridian">\n'
        f"<title>{_e(heading(data))}</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
        f"{_title_block(data)}\n{_sections(data)}\n"
        f"<footer>{_e(footer)} · generated {_e(_generated(data))}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def render_html(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.html", html_document(data).encode("utf-8"))


# --- the e-mail body ----------------------------------------------------------------------------


def email_tile_groups(data: ReportData, per_group: int = 4) -> list[tuple[str, list[Tile]]]:
    """The headline KPIs for the e-mail: all tiles of a one-area report, the first few of each area otherwise."""
    groups = tile_groups(data)
    if len(groups) == 1:
        return [("", groups[0][1])]
    return [(section.section.area or section.section.title, tiles[:per_group]) for section, tiles in groups]


def email_html(data: ReportData, files: Sequence[Path] = ()) -> str:
    """The e-mail's HTML alternative: intro, the headline KPIs inline, what is missing, the attachments."""
    groups = email_tile_groups(data)
    font = "font-family:Helvetica,Arial,sans-serif"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(heading(data))}</title></head>",
        f"<body style='margin:0;padding:16px;{font};color:{INK};background:#ffffff'>",
        f"<h2 style='margin:0 0 8px;font-size:18px'>{_e(heading(data))}</h2>",
        f"<p style='margin:0 0 12px'>{_e(intro(data))}</p>",
    ]
    note = coverage_note(data)
    if note:
        parts.append(f"<p style='margin:0 0 12px;color:{MUTED}'><i>{_e(note)}</i></p>")
    for title, tiles in groups:
        if title:
            parts.append(f"<h3 style='margin:14px 0 4px;font-size:15px'>{_e(title)}</h3>")
        rows = []
        for index in range(0, len(tiles), 2):
            cells = []
            for tile in tiles[index : index + 2]:
                cells.append(
                    f"<td style='width:50%;padding:8px 10px;background:{TILE_BG};border:1px solid {RULE};"
                    f"vertical-align:top'>"
                    f"<div style='color:{MUTED};font-size:12px'>{_e(tile.label)}</div>"
                    f"<div style='font-size:18px;font-weight:bold;margin:2px 0'>{_e(tile.value)}</div>"
                    f"<div style='font-size:12px;color:{_change_color(tile.change)}'>{_e(tile.change.text)}</div>"
                    "</td>"
                )
            if len(cells) < 2:
                cells.append("<td style='width:50%'></td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        parts.append(
            "<table role='presentation' cellpadding='0' cellspacing='4' "
            f"style='border-collapse:separate;max-width:560px;width:100%;{font}'>{''.join(rows)}</table>"
        )
    if not groups:
        parts.append("<p>Headline figures are not available for this period.</p>")
    missing = [f"{section.section.title}: {section.note}" for section in data.sections if not section.available]
    if missing:
        parts.append("<p>Not available:</p><ul>" + "".join(f"<li>{_e(m)}</li>" for m in missing) + "</ul>")
    if files:
        parts.append(f"<p style='color:{MUTED}'>Attached: " + _e(", ".join(Path(path).name for path in files)) + "</p>")
    parts.append(f"<p style='color:{MUTED}'>— Meridian</p></body></html>")
    return "".join(parts)
