"""A scheduled report as the delivery reads it, its validation, and the result of delivering one period.

``report_type``, ``formats``, ``recipients`` (a simple e-mail pattern) and
``parameters`` (per report type) are checked per report; an error names the bad field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from meridian.reports.model import ReportConfigError, ReportType
from meridian.reports.periods import Period, check_frequency
from meridian.reports.registry import get_report_type
from meridian.reports.render import check_formats, slug

EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"  # local part, dots only between
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # first domain label
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"  # more labels
    r"\.[A-Za-z]{2,63}"  # top-level domain
)

SENT = "sent"
ALREADY_SENT = "already_sent"
FAILED = "failed"
WAITING = "waiting"

ALERT_TABLE = "reporting.report_deliveries"


@dataclass(frozen=True)
class DeliveryResult:
    report_id: int
    tenant_id: str
    status: str  # sent, already_sent, failed, waiting
    period_start: date | None = None
    period_end: date | None = None
    files: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    attempts: int = 0
    error: str | None = None
    retryable: bool = False  # a failure an Airflow retry may fix (SMTP or database trouble)
    refused: tuple[str, ...] = field(default=())  # recipients the server refused while accepting others
    resent: bool = False  # an earlier attempt handed the same Message-ID to the server: sent again under it

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "tenant_id": self.tenant_id,
            "status": self.status,
            "period_start": self.period_start.isoformat() if self.period_start else None,
            "period_end": self.period_end.isoformat() if self.period_end else None,
            "files": list(self.files),
            "recipients": list(self.recipients),
            "attempts": self.attempts,
            "error": self.error,
            "retryable": self.retryable,
            "resent": self.resent,
        }


@dataclass(frozen=True)
class ReportSettings:
    """What a scheduled report is set to (a row of reporting.scheduled_reports without its bookkeeping)."""

    tenant_id: str
    name: str
    report_type: str
    frequency: str
    formats: list[str]
    recipients: list[str]
    parameters: Any
    next_run_at: datetime


@dataclass(frozen=True)
class ScheduledReport(ReportSettings):
    """A scheduled report as the deliverer locked it: its settings and its id."""

    id: int


@dataclass(frozen=True)
class ValidReport:
    report_type: ReportType
    formats: list[str]
    recipients: list[str]
    parameters: dict[str, Any]


@dataclass(frozen=True)
class DeliveryRow:
    status: str
    data_sent_at: datetime | None
    message_id: str | None
    error: str | None


def validate_recipients(recipients: Sequence[str] | None) -> list[str]:
    """Plain addresses (``name@example.com``, no display names), trimmed, without repeats.

    Raises :class:`ReportConfigError` naming ``recipients`` and the bad item.
    """
    if not recipients:
        raise ReportConfigError("recipients", "is empty; list at least one e-mail address")
    cleaned = []
    for index, recipient in enumerate(recipients):
        address = (recipient or "").strip() if isinstance(recipient, str) else recipient
        if (
            not isinstance(address, str)
            or not EMAIL_PATTERN.fullmatch(address)
            or len(address) > 254
            or len(address.rsplit("@", 1)[0]) > 64
        ):
            raise ReportConfigError("recipients", f"{recipient!r} (item {index + 1}) is not a valid e-mail address")
        cleaned.append(address)
    return list(dict.fromkeys(cleaned))


def validate_report(report: ScheduledReport) -> ValidReport:
    """Check one scheduled report; raises :class:`ReportConfigError` naming the first bad field."""
    if not report.tenant_id or not report.tenant_id.strip():
        raise ReportConfigError("tenant_id", "is empty")
    check_frequency(report.frequency)
    report_type = get_report_type(report.report_type)
    formats = check_formats(report.formats)
    recipients = validate_recipients(report.recipients)
    parameters = report_type.resolve_parameters(report.parameters)
    return ValidReport(report_type, formats, recipients, parameters)


def report_folder(out_dir: Path, report: ScheduledReport, period: Period) -> Path:
    return out_dir / slug(report.tenant_id) / f"report-{report.id}" / period.slug
