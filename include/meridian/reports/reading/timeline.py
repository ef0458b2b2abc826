"""The report's period against the marts: the previous period, month scopes, trend buckets."""

from __future__ import annotations

from datetime import date, timedelta

from meridian.reports.model import (
    MONTH,
    Section,
)
from meridian.reports.periods import Period, month_start

UNITS = {"daily": "day", "weekly": "week", "monthly": "month"}
DEFAULT_TREND_POINTS = {"day": 30, "week": 12, "month": 12}
NATURAL_PERIOD_TYPE = {"daily": "day", "weekly": "week", "monthly": "month"}


# --- periods ------------------------------------------------------------------------------------


def month_end(day: date) -> date:
    return month_start(day, 1) - timedelta(days=1)


def previous_period(period: Period) -> Period:
    """The period a report compares with: the day before, the 7 days before, the previous calendar month."""
    if period.frequency == "monthly":
        start = month_start(period.start, -1)
        return Period(period.frequency, start, month_end(start))
    length = (period.end - period.start).days + 1
    return Period(period.frequency, period.start - timedelta(days=length), period.start - timedelta(days=1))


def month_scope(period: Period) -> Period:
    """What a monthly mart holds for ``period``: its month, or the month to date of its last day."""
    return Period("monthly", period.end.replace(day=1), period.end)


def trend_unit(period: Period, section: Section) -> str:
    return "month" if section.source.grain == MONTH else UNITS.get(period.frequency, "day")


def trend_buckets(period: Period, unit: str, points: int) -> list[tuple[date, date]]:
    """``points`` consecutive (start, end) buckets of ``unit`` ending with the report's period, oldest first."""
    buckets = []
    for back in range(points - 1, -1, -1):
        if unit == "day":
            day = period.end - timedelta(days=back)
            buckets.append((day, day))
        elif unit == "week":
            end = period.end - timedelta(days=7 * back)
            buckets.append((end - timedelta(days=6), end))
        else:
            start = month_start(period.end, -back)
            buckets.append((start, min(month_end(start), period.end) if back == 0 else month_end(start)))
    return buckets


def bucket_label(start: date, unit: str) -> str:
    if unit == "month":
        return start.strftime("%b %y")
    return f"{start.day} {start.strftime('%b')}"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
