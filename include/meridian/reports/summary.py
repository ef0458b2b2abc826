"""Numbers as people read them, shared by the PDF, the CSV notes and the e-mail body.

Money is shown with two decimals (and the ``currency`` parameter's code when
set), counts with thousands separators, rates as percentages. A change is
shown against the previous mart period: a relative change for money and
counts (``+4.2%``), a difference in percentage points for rates (``+1.3 pp``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from meridian.reports.data import ReportData, SectionData
from meridian.reports.registry import COUNT, KPI_TILES, METRIC_TABLE, RATE, Metric

NOT_AVAILABLE = "n/a"


def month_label(month: date, short: bool = False) -> str:
    name = calendar.month_abbr[month.month] if short else calendar.month_name[month.month]
    return f"{name} {month.year}"


def format_value(value: Any, kind: str, currency: str | None = None) -> str:
    if value is None:
        return NOT_AVAILABLE
    if kind == RATE:
        return f"{Decimal(value) * 100:.1f}%"
    if kind == COUNT:
        return f"{int(value):,}"
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}" if currency else text


@dataclass(frozen=True)
class Change:
    text: str  # "+4.2% vs Feb 2024"
    direction: str  # up, down, flat, none
    good: bool | None = None  # whether the move is good news (None: flat or unknown)


def change_between(current: Any, previous: Any, kind: str, previous_label: str) -> Change:
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


def _current_and_previous(data: ReportData, section: SectionData) -> tuple[dict | None, dict | None]:
    return section.row_for(data.month), section.row_for(data.previous_month)


def _metric_values(data: ReportData, section: SectionData, metric: Metric) -> tuple[Any, Any, Change]:
    current_row, previous_row = _current_and_previous(data, section)
    current = current_row.get(metric.column) if current_row else None
    previous = previous_row.get(metric.column) if previous_row else None
    change = change_between(current, previous, metric.kind, month_label(data.previous_month, short=True))
    if change.direction in ("up", "down"):
        good = (change.direction == "up") == metric.higher_is_better
        change = Change(change.text, change.direction, good)
    return current, previous, change


def headline_tiles(data: ReportData) -> list[Tile]:
    """Tiles of the first KPI section (empty when it is not available)."""
    currency = data.parameters.get("currency")
    for section in data.sections:
        if section.section.kind != KPI_TILES or not section.available:
            continue
        tiles = []
        for metric in section.section.metrics:
            current, _, change = _metric_values(data, section, metric)
            tiles.append(Tile(metric.label, format_value(current, metric.kind, currency), change, current))
        return tiles
    return []


def metric_table_rows(data: ReportData, section: SectionData) -> list[TableRow]:
    if section.section.kind not in (METRIC_TABLE, KPI_TILES) or not section.available:
        return []
    currency = data.parameters.get("currency")
    rows = []
    for metric in section.section.metrics:
        current, previous, change = _metric_values(data, section, metric)
        rows.append(
            TableRow(
                metric.label,
                format_value(current, metric.kind, currency),
                format_value(previous, metric.kind, currency),
                change,
            )
        )
    return rows


def has_period_row(data: ReportData, section: SectionData) -> bool:
    return section.available and section.row_for(data.month) is not None


def coverage_note(data: ReportData) -> str | None:
    """Said when the period is not a whole month but the marts are monthly."""
    if data.report_type.grain == "month" and not data.period.is_whole_month:
        return (
            f"The warehouse holds these figures by calendar month: they are for {month_label(data.month)}, "
            "the month that contains this period, month to date as of the latest warehouse build."
        )
    return None
