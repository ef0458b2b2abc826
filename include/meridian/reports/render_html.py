"""The HTML format: one self-contained, print-ready page; and the HTML body of the report e-mail.

The page has no external assets (inline CSS, the trend chart as inline SVG,
no scripts, fonts or images fetched), so it opens offline, from an
attachment or an archive, and prints on A4 (``@media print`` / ``@page``
rules keep tiles, tables and the chart from splitting across pages). Layout
follows the PDF: a title block (report, tenant, period, generation time),
then each section in order: KPI tiles with the change on the previous month,
the trend as a line chart, the movements and metric tables; a section whose
mart is missing says "Not available" and why.

:func:`email_html` builds the e-mail's HTML alternative with the headline
KPIs inline (table layout and inline styles only, as mail clients drop
``<style>`` blocks). Every value from the warehouse or the report's
configuration is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

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

INK = "#1f2933"
MUTED = "#616e7c"
ACCENT = "#2563eb"
GOOD = "#15803d"
BAD = "#b91c1c"
RULE = "#d9e2ec"
TILE_BG = "#f5f7fa"

CSS = f"""
*{{box-sizing:border-box}}
html{{-webkit-text-size-adjust:100%}}
body{{margin:0;background:#fff;color:{INK};font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}}
main{{max-width:960px;margin:0 auto;padding:32px 28px 24px}}
h1{{font-size:26px;line-height:1.2;margin:0 0 8px}}
h2{{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid {RULE}}}
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
    period = data.period
    return (
        f"{data.report_type.title} for {data.tenant_id}, {period.label} "
        f"({period.start.isoformat()} to {period.end.isoformat()})."
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
        ("Generated", _generated(data)),
    ]
    meta = "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in items)
    parts = [
        "<header>",
        f"<h1>Meridian {_e(data.report_type.title.lower())}</h1>",
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
    if section.section.kind != BREAKDOWN_TABLE and not has_period_row(data, section):
        return (
            f'<p class="note">No data for {_e(month_label(data.month))} in {_e(section.section.table)} '
            "for this tenant.</p>"
        )
    return None


def _tiles(data: ReportData) -> str:
    tiles = []
    for tile in headline_tiles(data):
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
    return f"{value:,.0f}"


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def trend_svg(data: ReportData, section: SectionData, width: int = 720, height: int = 240) -> str:
    """An inline SVG line chart of the section's metrics over its window (gaps where a month has no row)."""
    assert section.window_start is not None and section.window_end is not None
    months = []
    month = section.window_start
    while month <= section.window_end:
        months.append(month)
        month = month_start(month, 1)
    by_month = {row[section.section.period_column]: row for row in section.rows}
    series = [
        [
            float(by_month[m][metric.column]) if m in by_month and by_month[m].get(metric.column) is not None else None
            for m in months
        ]
        for metric in section.section.metrics
    ]
    present = [value for values in series for value in values if value is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    y_min = min(0.0, low)
    step = _nice_step((high * 1.1 if high > 0 else 1.0) - y_min)
    y_max = y_min + step * max(1, -(-((high * 1.1 if high > 0 else 1.0) - y_min) // step))
    left, right, top, bottom = 56, 12, 14, 28
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(index: int) -> float:
        return left + (plot_w * index / (len(months) - 1) if len(months) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - y_min) / (y_max - y_min))

    title = f"{section.section.title}, {month_label(months[0])} to {month_label(months[-1])}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(title)}" font-family="Helvetica,Arial,sans-serif" font-size="11">',
        f"<title>{_e(title)}</title>",
    ]
    tick = y_min
    while tick <= y_max + step / 2:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{RULE}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{MUTED}">{_e(axis_label(tick))}</text>'
        )
        tick += step
    every = max(1, -(-len(months) // 12))
    for index, m in enumerate(months):
        if index % every == 0 or index == len(months) - 1:
            parts.append(
                f'<text x="{x(index):.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}">'
                f"{_e(m.strftime('%b %y'))}</text>"
            )
    colours = [ACCENT, "#9333ea", "#ea580c", "#0d9488"]
    for number, values in enumerate(series):
        colour = colours[number % len(colours)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(index):.1f},{y(value):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round" '
                f'points="{" ".join(points)}"/>'
            )
        for index, value in enumerate(values):
            if value is not None:
                parts.append(
                    f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
                    f"<title>{_e(month_label(months[index]))}: {_e(f'{value:,.2f}')}</title></circle>"
                )
    if not present:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">no data</text>')
    parts.append("</svg>")
    return f'<div class="chart">{"".join(parts)}</div>'


def _breakdown_table(data: ReportData, section: SectionData) -> str:
    definition = section.section
    currency = data.parameters.get("currency")
    first = definition.group_by.replace("_", " ").capitalize() if definition.group_by else ""
    head = "".join(f"<th>{_e(label)}</th>" for label in [first] + [a.label for a in definition.aggregates])
    totals: dict[str, Any] = {a.name: 0 if a.kind == COUNT else Decimal("0.00") for a in definition.aggregates}
    body = []
    for row in section.rows:
        cells = [f"<td>{_e(row['label'])}</td>"]
        for aggregate in definition.aggregates:
            value = row[aggregate.name]
            totals[aggregate.name] += value if value is not None else 0
            cells.append(f"<td>{_e(format_value(value, aggregate.kind, currency))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    total = "".join(f"<td>{_e(format_value(totals[a.name], a.kind, currency))}</td>" for a in definition.aggregates)
    body.append(f'<tr class="total"><td>Net</td>{total}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _metric_table(data: ReportData, section: SectionData) -> str:
    head = "".join(
        f"<th>{_e(label)}</th>" for label in ("", month_label(data.month), month_label(data.previous_month), "Change")
    )
    body = []
    for row in metric_table_rows(data, section):
        text = row.change.text.split(" vs ")[0] if row.change.text else ""
        body.append(
            f"<tr><td>{_e(row.label)}</td><td>{_e(row.current)}</td><td>{_e(row.previous)}</td>"
            f'<td class="{_change_class(row.change)}">{_e(text)}</td></tr>'
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(data: ReportData, section: SectionData) -> str:
    definition = section.section
    heading_html = f"<h2>{_e(definition.title)}</h2>"
    missing = _unavailable(data, section)
    if missing is not None:
        return f'<section id="{_e(definition.key)}">{heading_html}{missing}</section>'
    kind = definition.kind
    if kind == KPI_TILES:
        body = _tiles(data)
    elif kind == TREND_CHART:
        body = trend_svg(data, section)
    elif kind == BREAKDOWN_TABLE:
        body = _breakdown_table(data, section)
    elif kind == METRIC_TABLE:
        body = _metric_table(data, section)
    else:  # the registry checks kinds at import; this guards a new kind without a layout
        raise ValueError(f"the HTML renderer has no layout for section kind {kind!r}")
    if definition.description:
        body += f'<p class="note">{_e(definition.description)}</p>'
    return f'<section id="{_e(definition.key)}">{heading_html}{body}</section>'


def html_document(data: ReportData) -> str:
    footer = f"Meridian · {data.report_type.title} · {data.tenant_id} · {data.period.label}"
    sections = "\n".join(_section(data, section) for section in data.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="Meridian">\n'
        f"<title>{_e(heading(data))}</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
        f"{_title_block(data)}\n{sections}\n"
        f"<footer>{_e(footer)} · generated {_e(_generated(data))}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def render_html(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.html", html_document(data).encode("utf-8"))


# --- the e-mail body ----------------------------------------------------------------------------


def email_html(data: ReportData, files: Sequence[Path] = ()) -> str:
    """The e-mail's HTML alternative: intro, the headline KPIs inline, what is missing, the attachments."""
    tiles = headline_tiles(data)
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
    if tiles:
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
    else:
        parts.append("<p>Headline figures are not available for this period.</p>")
    missing = [f"{section.section.title}: {section.note}" for section in data.sections if not section.available]
    if missing:
        parts.append("<p>Not available:</p><ul>" + "".join(f"<li>{_e(m)}</li>" for m in missing) + "</ul>")
    if files:
        parts.append(f"<p style='color:{MUTED}'>Attached: " + _e(", ".join(Path(path).name for path in files)) + "</p>")
    parts.append(f"<p style='color:{MUTED}'>— Meridian</p></body></html>")
    return "".join(parts)
