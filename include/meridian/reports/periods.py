"""Which period a due report covers, and when it is due next.

A report due at ``next_run_at`` covers the period that ends there (all dates
UTC; ``end`` is the period's last day, inclusive):

- ``daily``: the day before the due date (due 2024-04-02 → 2024-04-01);
- ``weekly``: the 7 days before the due date (due 2024-04-01 → 2024-03-25 … 2024-03-31);
- ``monthly``: the last complete calendar month before the due date
  (due 2024-04-01, or any time in April → March 2024).

After a period is delivered, ``next_run_at`` moves by the frequency (a day, a
week, a calendar month; a day of month past the end of a shorter month is
clamped, so schedule monthly reports on days 1–28 to keep the day fixed).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from meridian.reports.model import FREQUENCIES, ReportConfigError
from meridian.values import shown

# the dates a schedule, a period or an as-of may name (the warehouse's data starts in 2000: docs/sources.md calls an
# earlier timestamp implausible); a report due in year 1 or 1900 is a typo, not a backfill
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def check_in_range(moment: date | datetime, field_name: str, given: object = None) -> None:
    """Raises :class:`ReportConfigError` naming ``field_name`` when ``moment`` is outside 2000–2100 (UTC)."""
    day = as_utc(moment).date() if isinstance(moment, datetime) else moment
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        value = shown(given if given is not None else moment.isoformat())
        raise ReportConfigError(field_name, f"{value} is outside {EARLIEST_DATE.isoformat()} .. {LATEST_DATE.isoformat()}")


@dataclass(frozen=True)
class Period:
    frequency: str
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        """Human label: ``March 2024``, ``25–31 March 2024``, ``31 March 2024``."""
        if self.frequency == "monthly":
            return f"{calendar.month_name[self.start.month]} {self.start.year}"
        if self.frequency == "daily":
            return _day_label(self.end)
        if self.start.year == self.end.year and self.start.month == self.end.month:
            return f"{self.start.day}–{_day_label(self.end)}"
        if self.start.year == self.end.year:
            return f"{self.start.day} {calendar.month_name[self.start.month]} – {_day_label(self.end)}"
        return f"{_day_label(self.start)} – {_day_label(self.end)}"

    @property
    def slug(self) -> str:
        """For file names: ``2024-03``, ``2024-03-25_2024-03-31``, ``2024-03-31``."""
        if self.frequency == "monthly":
            return self.start.strftime("%Y-%m")
        if self.frequency == "daily":
            return self.end.isoformat()
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def month(self) -> date:
        """The calendar month (its 1st) a monthly mart is read for: the month of the period's last day."""
        return self.end.replace(day=1)

    @property
    def is_whole_month(self) -> bool:
        return self.start.day == 1 and (self.end + timedelta(days=1)).day == 1 and self.start.month == self.end.month


def _day_label(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def check_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise ReportConfigError("frequency", f"unknown frequency {frequency!r} (known: {', '.join(FREQUENCIES)})")
    return frequency


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def period_for(due_at: datetime, frequency: str) -> Period:
    """The period a report of ``frequency`` that is due at ``due_at`` covers."""
    check_frequency(frequency)
    due_date = as_utc(due_at).date()
    if frequency == "daily":
        day = due_date - timedelta(days=1)
        return Period(frequency, day, day)
    if frequency == "weekly":
        return Period(frequency, due_date - timedelta(days=7), due_date - timedelta(days=1))
    end = due_date.replace(day=1) - timedelta(days=1)
    return Period(frequency, end.replace(day=1), end)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months, the day clamped to the target month's length."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def month_start(day: date, months: int = 0) -> date:
    """The 1st of the month of ``day``, moved by ``months``."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def next_due(due_at: datetime, frequency: str) -> datetime:
    """The due time after ``due_at`` for ``frequency``."""
    check_frequency(frequency)
    due_at = as_utc(due_at)
    if frequency == "daily":
        return due_at + timedelta(days=1)
    if frequency == "weekly":
        return due_at + timedelta(days=7)
    return add_months(due_at, 1)
