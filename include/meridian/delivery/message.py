"""The report e-mail: subject, plain-text body with the headline figures, the HTML
alternative, the rendered files attached.

r
every attempt and every resend (the delivery stores it with its row before the
first attempt), so an operator can look a delivery up in the server's log and
a receiving system can drop a second copy.

"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from meridian.reports.data import ReportData
from meridian.reports.render.html import heading
from meridian.reports.render.html_email import email_html, email_tile_groups
from meridian.reports.summary import coverage_note, currency_statement, report_period_statement

MIME_TYPES = {
    ".pdf": ("application", "pdf"),
    ".csv": ("text", "csv"),
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".html": ("text", "html"),
    ".zip": ("application", "zip"),
}


def subject_for(data: ReportData) -> str:
    return heading(data)


TEXT_WIDTH = 76


def _body(data: ReportData, files: Sequence[Path]) -> tuple[str, str]:
    """The plain-text body and the HTML alternative (:func:`meridian.reports.render.html.email_html`).

    The text part holds what the HTML part does: the intro (the period covered and why, the currency), the
    headline figures of every area (values right-aligned), what is not available and the attachments.
    """
    groups = email_tile_groups(data)
    note = coverage_note(data)
    missing = [f"{section.section.title}: {section.note}" for section in data.sections if not section.available]
    heading = f"{data.report_type.title} for {data.tenant_id}, {data.period.label}."
    text_lines = [heading, ""]
    for paragraph in (report_period_statement(data), currency_statement(data), note):
        if paragraph:
            text_lines += [textwrap.fill(paragraph, TEXT_WIDTH), ""]
    tiles = [tile for _, group in groups for tile in group]
    if tiles:
        width = max(len(tile.label) for tile in tiles)
        value_width = max(len(tile.value) for tile in tiles)
        for title, group in groups:
            if title:
                text_lines += ["", title] if text_lines[-1] else [title]
            text_lines += [
                f"{tile.label.ljust(width)}  {tile.value.rjust(value_width)}"
                + (f"  ({tile.change.text})" if tile.change.text else "")
                for tile in group
            ]
    else:
        text_lines.append("Headline figures are not available for this period.")
    if missing:
        text_lines += ["", "Not available:"] + [f"- {line}" for line in missing]
    attached = "Attached: " + ", ".join(path.name for path in files)
    text_lines += ["", textwrap.fill(attached, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False), "", "— Meridian"]
    return "\n".join(text_lines), email_html(data, files)


def message_id(report_id: int, period_start: date, sender: str) -> str:
    """The Message-ID of a (report, period): the same for every attempt, e.g. ``<report-7-2024-03-01@x.com>``."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "meridian.local"
    return f"<report-{report_id}-{period_start.isoformat()}@{domain}>"


def build_message(
    data: ReportData,
    files: Sequence[Path],
    recipients: Sequence[str],
    *,
    sender: str,
    report_id: int,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject_for(data)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(report_id, data.period.start, sender)
    message["X-Meridian-Report-Id"] = str(report_id)
    message["X-Meridian-Tenant"] = data.tenant_id
    message["X-Meridian-Period"] = f"{data.period.start.isoformat()}/{data.period.end.isoformat()}"
    text, html = _body(data, files)
    # quoted-printable keeps the message 7-bit clean: left to itself the email package sends short-lined UTF-8
    # text as raw 8-bit bytes, which smtplib hands over without BODY=8BITMIME, and a relay or mail viewer that
    # takes the part for ASCII shows the em dash and the en dashes of the periods as escapes or mojibake
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    for path in files:
        maintype, subtype = MIME_TYPES.get(path.suffix.lower(), ("application", "octet-stream"))
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message
