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

The e-mail body is :mod:`meridian.reports.render.html_email`.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from meridian.reports.data import ReportData, SectionData
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.render.html_sections import section_body
from meridian.reports.render.html_style import CSS, escaped
from meridian.reports.summary import (
    coverage_note,
    currency_statement,
    period_label,
    report_period_statement,
)


def heading(data: ReportData) -> str:
    return f"Meridian {data.report_type.title.lower()} — {data.tenant_id} — {data.period.label}"


def intro(data: ReportData) -> str:
    """The e-mail's first lines: the report, the period it covers and why, the currency."""
    return (
        f"{data.report_type.title} for {data.tenant_id}, {data.period.label}. "
        f"{report_period_statement(data)} {currency_statement(data)}"
    )


def generated(data: ReportData) -> str:
    return data.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- the page -----------------------------------------------------------------------------------


def title_block(data: ReportData) -> str:
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
        ("Generated", generated(data)),
    ]
    meta = "".join(f"<dt>{escaped(label)}</dt><dd>{escaped(value)}</dd>" for label, value in items)
    parts = [
        "<header>",
        f"<h1>Meridian {escaped(data.report_type.title.lower())}: {escaped(period.label)}</h1>",
        f'<p class="subtitle">{escaped(report_period_statement(data))}</p>',
        f'<dl class="meta">{meta}</dl>',
    ]
    note = coverage_note(data)
    if note:
        parts.append(f'<p class="note">{escaped(note)}</p>')
    parts.append("</header>")
    return "".join(parts)


def _section(data: ReportData, section: SectionData) -> str:
    definition = section.section
    css = ' class="half"' if definition.width == "half" else ""
    return (
        f'<section id="{escaped(definition.key)}"{css}><h2>{escaped(definition.title)}</h2>'
        f"{section_body(data, section)}</section>"
    )


def _sections(data: ReportData) -> str:
    parts = []
    area = None
    sections = data.sections
    index = 0
    while index < len(sections):
        definition = sections[index].section
        if definition.area and definition.area != area and definition.area != definition.title:
            parts.append(f'<h2 class="area">{escaped(definition.area)}</h2>')
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
        f"<title>{escaped(heading(data))}</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
        f"{title_block(data)}\n{_sections(data)}\n"
        f"<footer>{escaped(footer)} · generated {escaped(generated(data))}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def render_html(data: ReportData, folder: Path) -> Path:
    return write_atomically(Path(folder) / f"{file_stem(data)}.html", html_document(data).encode("utf-8"))


# --- the e-mail body ----------------------------------------------------------------------------
