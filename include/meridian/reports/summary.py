"""Numbers as people read them, shared by the PDF, HTML, XLSX, CSV and the e-mail body.

Money is shown with two decimals and the tenant's currency code
(``2,650.00 EUR``; in a table, the column header carries it: ``MRR (EUR)``), counts with thousands separators, rates as percentages, other measures
with one decimal. A change is shown against the previous period: a relative
change for money, counts and measures (``+4.2%``), a difference in percentage
points for rates (``+1.3 pp``).

:func:`meridian.reports.tables.section_table` gives every section as one typed table (the XLSX sheet
and the per-section CSV file), so the spreadsheet formats hold the very values
the PDF and HTML show.

"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import (
    COUNT,
    KPI_TILES,
    METRIC_TABLE,
    NUMBER,
    RATE,
    TEXT,
    Metric,
)
from meridian.reports.periods import Period, as_utc, month_start, period_for

NOT_AVAILABLE = "n/a"
DATE = "date"
LABEL = "label"


def month_label(month: date, short: bool = False) -> str:
    name = calendar.month_abbr[month.month] if short else calendar.month_name[month.month]
    return f"{name} {month.year}"


def period_label(period: Period, short: bool = False) -> str:
    """``March 2024`` / ``Mar 2024``, ``25–31 Mar 2024``, ``31 Mar 2024`` (short forms for comparisons)."""
    if period.frequency == "monthly":
        label = month_label(period.start, short)
        whole = period.end.day == calendar.monthrange(period.end.year, period.end.month)[1]
        return label if whole else f"{label} to {period.end.day}"
    if not short:
        return period.label
    end = f"{period.end.day} {calendar.month_abbr[period.end.month]} {period.end.year}"
    if period.start == period.end:
        return end
    if period.start.month == period.end.month:
        return f"{period.start.day}–{end}"
    return f"{period.start.day} {calendar.month_abbr[period.start.month]} – {end}"


def format_value(value: Any, kind: str, currency: str | None = None) -> str:
    if value is None:
        return NOT_AVAILABLE
    if kind == TEXT:
        return str(value)
    if kind == RATE:
        return f"{Decimal(value) * 100:.1f}%"
    if kind == COUNT:
        return f"{int(value):,}"
    if kind == NUMBER:
        return f"{Decimal(value):,.1f}"
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}" if currency else text


def axis_label(value: float) -> str:
    """A chart's value-axis tick, short: ``1.2M``, ``45k``, ``0.25``, ``1,250``."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.0f}k"
    if magnitude and magnitude < 10 and value != int(value):
        return f"{value:.2f}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Change:
    text: str  # "+4.2% vs Feb 2024"
    direction: str  # up, down, flat, none
    good: bool | None = None  # whether the move is good news (None: flat or unknown)


def change_between(current: Any, previous: Any, kind: str, previous_label: str) -> Change:
    if kind == TEXT:
        if current is None or previous is None:
            return Change("", "none")
        return Change(f"{previous} in {previous_label}" if previous != current else "same as before", "none")
    if current is None or previous is None:
        return Change(f"no data for {previous_label}" if previous is None else "", "none")
    current, previous = Decimal(current), Decimal(previous)
    diff = current - previous
    direction = "up" if diff > 0 else "down" if diff < 0 else "flat"
    if diff == 0:
        return Change(f"no change vs {previous_label}", direction)
    if kind == RATE:
        return Change(f"{diff * 100:+.1f} pp vs {previous_label}", direction)
    if previous == 0:
        return Change(f"up from 0 vs {previous_label}" if diff > 0 else f"down from 0 vs {previous_label}", direction)
    return Change(f"{diff / abs(previous) * 100:+.1f}% vs {previous_label}", direction)


def relative_change(current: Any, previous: Any, kind: str) -> tuple[Any, Any]:
    """(difference, relative change as a fraction or None) of two values; None when one is missing."""
    if kind == TEXT or current is None or previous is None:
        return None, None
    diff = Decimal(current) - Decimal(previous)
    relative = (
        (diff / abs(Decimal(previous))).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        if kind != RATE and previous != 0
        else None
    )
    return diff, relative


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    change: Change
    raw: Any


@dataclass(frozen=True)
class TableRow:
    label: str
    current: str
    previous: str
    change: Change
    metric: Metric | None = None
    raw_current: Any = None
    raw_previous: Any = None


def scope_labels(section: SectionData, short: bool = True) -> tuple[str, str]:
    """Labels of what a tiles or metric section compares: ("Oct 2026", "Sep 2026")."""
    if section.scope is None or section.previous_scope is None:
        return "", ""
    return period_label(section.scope, short), period_label(section.previous_scope, short)


def _change(section: SectionData, metric: Metric, current: Any, previous: Any) -> Change:
    _, previous_label = scope_labels(section)
    change = change_between(current, previous, metric.kind, previous_label)
    if change.direction in ("up", "down") and metric.higher_is_better is not None:
        good = (change.direction == "up") == metric.higher_is_better
        change = Change(change.text, change.direction, good)
    return change


def metric_table_rows(data: ReportData, section: SectionData) -> list[TableRow]:
    if section.section.kind not in (METRIC_TABLE, KPI_TILES) or not section.available:
        return []
    currency = data.currency
    current_row, previous_row = section.current or {}, section.previous or {}
    rows = []
    for metric in section.section.metrics:
        current, previous = current_row.get(metric.key), previous_row.get(metric.key)
        rows.append(
            TableRow(
                metric.label,
                format_value(current, metric.kind, currency),
                format_value(previous, metric.kind, currency),
                _change(section, metric, current, previous),
                metric,
                current,
                previous,
            )
        )
    return rows


def section_tiles(data: ReportData, section: SectionData) -> list[Tile]:
    return [Tile(row.label, row.current, row.change, row.raw_current) for row in metric_table_rows(data, section)]


def tile_groups(data: ReportData) -> list[tuple[SectionData, list[Tile]]]:
    """Every available tiles section with its tiles, in report order."""
    return [
        (section, section_tiles(data, section))
        for section in data.sections
        if section.section.kind == KPI_TILES and section.has_data
    ]


def headline_tiles(data: ReportData) -> list[Tile]:
    """Tiles of the first KPI section with data (empty when none is available)."""
    groups = tile_groups(data)
    return groups[0][1] if groups else []


def has_period_row(data: ReportData, section: SectionData) -> bool:
    return section.has_data


def no_data_text(data: ReportData, section: SectionData) -> str:
    scope = section.scope or data.period
    return f"No data for {period_label(scope)} in {section.section.table} for this tenant."


UNIT_NAMES = {"monthly": "month", "weekly": "week", "daily": "day"}


def _instant(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _open_period(as_of: datetime, frequency: str) -> tuple[str, datetime]:
    """The label of the calendar unit that contains ``as_of`` (the month, or the day) and when it closes."""
    day = as_utc(as_of).date()
    if frequency == "monthly":
        start = day.replace(day=1)
        return month_label(start), datetime.combine(month_start(start, 1), time.min, tzinfo=UTC)
    return f"{day.day} {calendar.month_name[day.month]} {day.year}", datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=UTC
    )


def period_statement(period: Period, as_of: datetime | None, generated_at: datetime | None = None) -> str:
    """Which period a report covers, and why (the rule of :mod:`meridian.reports.periods`).

    A report covers the last period closed at its run's as-of instant: a monthly
    one the last calendar month that ended at or before it. For the demo's run as
    of 2026-10-31 00:00 UTC that is September 2026, since October closes only at
    2026-11-01 00:00 UTC; a run as of that instant covers October.
    """
    unit = UNIT_NAMES[period.frequency]
    label = period_label(period)
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    closes = datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=UTC)
    if as_of is None:  # the period was named directly (meridian reports render)
        if generated_at is not None and closes > as_utc(generated_at):
            return (
                f"{unit.capitalize()} {label} ({span}), as requested; it is not closed when generated "
                f"({_instant(generated_at)}): it closes at {_instant(closes)}, so its figures are partial."
            )
        return f"{unit.capitalize()} {label} ({span}), as requested."
    if closes > as_utc(as_of):
        return (
            f"{unit.capitalize()} {label} ({span}) is not closed at the as-of instant {_instant(as_of)}: "
            f"it closes at {_instant(closes)}, so its figures are partial."
        )
    latest = period_for(as_of, period.frequency)
    if latest != period:
        return (
            f"Closed {unit} {label} ({span}), due at {_instant(closes)} and delivered by a later run "
            f"(as-of instant {_instant(as_of)})."
        )
    still_open, open_closes = _open_period(as_of, period.frequency)
    return (
        f"Closed {unit} {label} ({span}): the last {unit} closed at the run's as-of instant {_instant(as_of)}; "
        f"{still_open} is still open then (it closes at {_instant(open_closes)})."
    )


def report_period_statement(data: ReportData) -> str:
    return period_statement(data.period, data.as_of, data.generated_at)


def currency_statement(data: ReportData) -> str:
    """What the money is in: ``Money in EUR (the tenant's currency).`` or why that is not known."""
    if data.currency and not data.currency_note:
        return f"Money in {data.currency} (the tenant's currency)."
    if data.currency:
        return f"Money in {data.currency} ({data.currency_note})."
    return f"Money in the tenant's currency ({data.currency_note})."


def coverage_note(data: ReportData) -> str | None:
    """Said when some sections read monthly marts for a daily or weekly report."""
    if data.period.frequency != "monthly" and any(
        section.caption and section.section.source.grain == "month" for section in data.sections
    ):
        return (
            "Sections read from monthly marts cover the month to date of the period's last day; "
            "the others cover the period itself against the previous period of the same length."
        )
    return None


__all__ = [
    "NOT_AVAILABLE",
    "Change",
    "TableRow",
    "Tile",
    "change_between",
    "coverage_note",
    "format_value",
    "headline_tiles",
    "metric_table_rows",
    "month_label",
    "period_label",
    "period_statement",
    "report_period_statement",
    "currency_statement",
    "tile_groups",
]
