"""The data a renderer gets: :class:`ReportData`, one :class:`SectionData` per section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from meridian.reports.model import (
    KPI_TILES,
    METRIC_TABLE,
    ReportType,
    Section,
)
from meridian.reports.periods import Period, month_start
from meridian.reports.reading.timeline import previous_period

Row = dict[str, Any]


# --- the data a renderer gets ---------------------------------------------------------------------


@dataclass
class SectionData:
    """One section's figures, shaped for the renderers.

    ``current``/``previous`` (tiles and metric tables): metric key → value for
    ``scope`` and ``previous_scope``. ``rows``: trend points (``period_start``,
    ``period_end``, ``label`` and a value per metric key), breakdown groups
    (the group value, ``label`` and a value per aggregate), funnel steps or
    retention cohorts; ``total`` the breakdown's totals row. ``caption`` says
    what the figures cover when it is not the report's period.
    """

    section: Section
    available: bool
    note: str | None = None  # why the section is not available
    rows: list[Row] = field(default_factory=list)
    current: Row | None = None
    previous: Row | None = None
    total: Row | None = None
    scope: Period | None = None
    previous_scope: Period | None = None
    caption: str | None = None
    window_start: date | None = None
    window_end: date | None = None
    unit: str | None = None  # trends: day, week or month
    period_numbers: list[int] = field(default_factory=list)  # heat-maps: the period columns shown

    @property
    def has_data(self) -> bool:
        if not self.available:
            return False
        if self.section.kind in (KPI_TILES, METRIC_TABLE):
            return self.current is not None
        return bool(self.rows)


@dataclass
class ReportData:
    """A report's figures. ``currency``: the tenant's ISO code every money value is in (None when not known,
    ``currency_note`` says why); ``as_of``: the run's as-of instant the period was chosen at (None when the
    period was named directly)."""

    report_type: ReportType
    tenant_id: str
    period: Period
    parameters: Mapping[str, Any]
    generated_at: datetime
    sections: list[SectionData]
    report_name: str | None = None
    currency: str | None = None
    currency_note: str | None = None
    as_of: datetime | None = None

    @property
    def previous_period(self) -> Period:
        return previous_period(self.period)

    @property
    def month(self) -> date:
        return self.period.month

    @property
    def previous_month(self) -> date:
        return month_start(self.period.month, -1)

    def section(self, key: str) -> SectionData:
        for data in self.sections:
            if data.section.key == key:
                return data
        raise KeyError(f"report {self.report_type.name!r} has no section {key!r}")
