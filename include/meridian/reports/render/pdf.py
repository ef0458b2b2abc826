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
from datetime import UTC
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from meridian.reports.data import ReportData
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.render.pdf_sections import chart_then_table, section_body
from meridian.reports.render.pdf_style import CONTENT_WIDTH, MARGIN, MUTED, PAGE_WIDTH, RULE, paragraph, styles_for
from meridian.reports.summary import (
    coverage_note,
    currency_statement,
    period_label,
    report_period_statement,
)


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
        paragraph(report_period_statement(data), styles["subtitle"]),
        Paragraph("<br/>".join(lines), styles["meta"]),
    ]
    note = coverage_note(data)
    if note:
        flow += [Spacer(1, 2 * mm), paragraph(note, styles["note"])]
    return flow


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
            lead.append(paragraph(definition.area, styles["area"]))
        area = definition.area
        partner = sections[index + 1] if index + 1 < len(sections) else None
        if definition.width == "half" and partner is not None and partner.section.width == "half":
            half = CONTENT_WIDTH / 2 - 3 * mm
            cells = [
                [paragraph(item.section.title, styles["h2"]), *section_body(data, item, styles, half)]
                for item in (section, partner)
            ]
            pair = Table([cells], colWidths=[CONTENT_WIDTH / 2] * 2)
            pair.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            story.append(KeepTogether([*lead, pair]))
            index += 2
            continue
        heading = paragraph(definition.title, styles["h2"])
        body = section_body(data, section, styles, CONTENT_WIDTH)
        if chart_then_table(body):
            # the heading stays with the chart and its note; the table under them may continue on the next page
            # (its header repeats), so a section that does not fit in the rest of a page no longer leaves it blank
            first_table = next(number for number, item in enumerate(body) if isinstance(item, Table))
            story += [KeepTogether([*lead, heading, *body[:first_table]]), *body[first_table:]]
        else:
            story.append(KeepTogether([*lead, heading, *body]))
        index += 1
    return story


def pdf_bytes(data: ReportData) -> bytes:
    compact = data.report_type.compact
    styles = styles_for(compact)
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
