"""The HTML body of each section kind: KPI tiles, charts with their tables, breakdowns, funnels, heat-maps."""

from __future__ import annotations

from typing import Any

from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import (
    BREAKDOWN_TABLE,
    FUNNEL,
    HEATMAP,
    KPI_TILES,
    METRIC_TABLE,
    TREND_CHART,
)
from meridian.reports.render.html_charts import bars_html, trend_svg
from meridian.reports.render.html_style import INK, change_class, escaped
from meridian.reports.summary import (
    DATE,
    LABEL,
    format_value,
    metric_table_rows,
    no_data_text,
    scope_labels,
    section_tiles,
)
from meridian.reports.tables import column_header, section_table


def unavailable(data: ReportData, section: SectionData) -> str | None:
    if not section.available:
        return f'<p class="note">{escaped((section.note or "not available").capitalize() + ".")}</p>'
    if not section.has_data:
        return f'<p class="note">{escaped(no_data_text(data, section))}</p>'
    return None


def tiles(data: ReportData, section: SectionData) -> str:
    tiles = []
    for tile in section_tiles(data, section):
        tiles.append(
            '<div class="tile">'
            f'<div class="label">{escaped(tile.label)}</div>'
            f'<div class="value">{escaped(tile.value)}</div>'
            f'<div class="change {change_class(tile.change)}">{escaped(tile.change.text) or "&nbsp;"}</div>'
            "</div>"
        )
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _typed_table(data: ReportData, section: SectionData, skip: tuple[str, ...] = ("key",)) -> str:
    currency = data.currency
    columns, rows = section_table(data, section)
    keep = [index for index, column in enumerate(columns) if column.name not in skip]
    head = "".join(f"<th>{escaped(column_header(columns[index], currency))}</th>" for index in keep)
    body = []
    has_total = section.section.kind == BREAKDOWN_TABLE and bool(section.section.total_label) and bool(section.rows)
    for number, row in enumerate(rows, start=1):
        cells = []
        for index in keep:
            value, kind = row[index]
            text = (
                "" if value is None else (str(value) if kind in (LABEL, DATE) else format_value(value, kind))
            )
            cells.append(f"<td>{escaped(text)}</td>")
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
    head = "".join(f"<th>{escaped(label)}</th>" for label in ("", current_label, previous_label, "Change"))
    body = []
    rows = metric_table_rows(data, section)
    for row in rows:
        text = row.change.text.split(" vs ")[0] if row.change.text else ""
        body.append(
            f"<tr><td>{escaped(row.label)}</td><td>{escaped(row.current)}</td><td>{escaped(row.previous)}</td>"
            f'<td class="{change_class(row.change)}">{escaped(text)}</td></tr>'
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
        cells = [f"<td>{escaped(row['label'])}</td><td>{escaped(format_value(row.get(size_key), 'count'))}</td>"]
        for n in section.period_numbers:
            rate = row.get(f"period_{n}")
            ink = "#ffffff" if rate is not None and float(rate) > 0.55 else INK
            text = format_value(rate, "rate") if rate is not None else ""
            cells.append(f'<td class="heat" style="background:{heat_colour(rate)};color:{ink}">{escaped(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="heatmap"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def section_body(data: ReportData, section: SectionData) -> str:
    missing = unavailable(data, section)
    if missing is not None:
        return missing
    kind = section.section.kind
    if kind == KPI_TILES:
        body = tiles(data, section)
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
            body += f'<p class="note">{escaped(text)}</p>'
    return body
