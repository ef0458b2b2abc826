"""The CSV format: every number the report shows, in long (tidy) form.

One file, one row per value: ``tenant_id, report_type, period_start,
period_end, section, key, metric, value``. ``key`` is the mart period
(``2024-03-01``) for monthly sections, the group (``new``, ``churn``) for
breakdowns. Values are the marts' own: money with two decimals in the
tenant's currency, rates as fractions, no thousands separators. A section
that is not available has one row with metric ``status`` and the reason.
Long form keeps one file for sections of different shapes and loads
directly into a spreadsheet pivot or a database table.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from meridian.reports.data import ReportData
from meridian.reports.registry import BREAKDOWN_TABLE
from meridian.reports.render import file_stem, write_atomically

HEADER = ("tenant_id", "report_type", "period_start", "period_end", "section", "key", "metric", "value")


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def csv_rows(data: ReportData) -> list[tuple[str, ...]]:
    prefix = (data.tenant_id, data.report_type.name, data.period.start.isoformat(), data.period.end.isoformat())
    rows: list[tuple[str, ...]] = []
    for section_data in data.sections:
        section = section_data.section
        if not section_data.available:
            rows.append((*prefix, section.key, "", "status", section_data.note or "not available"))
            continue
        if section.kind == BREAKDOWN_TABLE:
            assert section.group_by is not None
            for row in section_data.rows:
                for aggregate in section.aggregates:
                    rows.append(
                        (*prefix, section.key, row[section.group_by], aggregate.name, csv_value(row[aggregate.name]))
                    )
            continue
        for row in section_data.rows:
            key = csv_value(row[section.period_column])
            for metric in section.metrics:
                rows.append((*prefix, section.key, key, metric.column, csv_value(row.get(metric.column))))
    return rows


def render_csv(data: ReportData, folder: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(csv_rows(data))
    return write_atomically(Path(folder) / f"{file_stem(data)}.csv", buffer.getvalue().encode("utf-8"))
