"""The CSV format: every number the report shows, as one tidy file or one file per section in a zip.

``csv_layout`` (a report parameter) chooses:

``long`` (default): one file ``<stem>.csv``, one row per value:
    ``tenant_id, report_type, period_start, period_end, section, key, metric,
    value``. ``key`` is the start of the period a value is for (the report's
    period or the previous one for tiles and metric tables; the point for
    trends; the cohort for heat-maps), the group (``new``, ``card``) for
    breakdowns (empty for the totals row, whose metric names carry no group),
    the step number for funnels. Long form keeps sections of different shapes
    in one file that loads directly into a pivot table or a database table. A
    section that is not available has one row with metric ``status`` and the
    reason.

``zip``: ``<stem>_csv.zip`` holding one ``<nn>_<section>.csv`` per section,
    each the section's table with a header row, as in the XLSX sheet
    (:func:`meridian.reports.summary.section_table`), and ``README.txt``
    listing the files and what is not available.

Values are plain: money with two decimals in the tenant's currency, rates as
fractions, no thousands separators, dates ISO. The last column, ``currency``,
names the tenant's currency (``marts.dim_tenants``) on every row that holds
money (long: a money value; zip: a table row with a money cell) and is empty
on the others, so the values stay plain numbers a program can load.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from meridian.reports.cells import csv_safe
from meridian.reports.data import ReportData
from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    HEATMAP,
    KPI_TILES,
    METRIC_TABLE,
    MONEY,
    RATE,
    TEXT,
    TREND_CHART,
)
from meridian.reports.render import file_stem, write_atomically
from meridian.reports.summary import currency_statement, report_period_statement
from meridian.reports.tables import section_table

HEADER = ("tenant_id", "report_type", "period_start", "period_end", "section", "key", "metric", "value", "currency")


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def csv_rows(data: ReportData) -> list[tuple[str, ...]]:
    """The long form: one row per value, its last column the currency of a money value (empty otherwise)."""
    return [(*row, data.currency or "" if kind == MONEY else "") for row, kind in _long_rows(data)]


def _long_rows(data: ReportData) -> list[tuple[tuple[str, ...], str]]:
    """(row without the currency column, the value's kind) per value."""
    prefix = (data.tenant_id, data.report_type.name, data.period.start.isoformat(), data.period.end.isoformat())
    rows: list[tuple[tuple[str, ...], str]] = []
    for section_data in data.sections:
        section = section_data.section
        if not section_data.available:
            rows.append(((*prefix, section.key, "", "status", section_data.note or "not available"), TEXT))
            continue
        if section.kind in (KPI_TILES, METRIC_TABLE):
            for scope, values in (
                (section_data.scope, section_data.current),
                (section_data.previous_scope, section_data.previous),
            ):
                if scope is None or values is None:
                    continue
                for metric in section.metrics:
                    rows.append(
                        (
                            (*prefix, section.key, scope.start.isoformat(), metric.key, csv_value(values.get(metric.key))),
                            metric.kind,
                        )
                    )
        elif section.kind == TREND_CHART:
            for point in section_data.rows:
                for metric in section.metrics:
                    rows.append(
                        (
                            (
                                *prefix,
                                section.key,
                                csv_value(point["period_start"]),
                                metric.key,
                                csv_value(point.get(metric.key)),
                            ),
                            metric.kind,
                        )
                    )
        elif section.kind == BREAKDOWN_TABLE:
            groups = list(section_data.rows)
            if section.total_label and section_data.total is not None and groups:
                groups.append(section_data.total)
            for row in groups:
                for aggregate in section.aggregates:
                    metric = aggregate.name if row["key"] is not None else f"total_{aggregate.name}"
                    rows.append(
                        (
                            (*prefix, section.key, csv_value(row["key"]), metric, csv_value(row.get(aggregate.name))),
                            aggregate.kind,
                        )
                    )
        elif section.kind == FUNNEL:
            names = (
                (section.metrics[0].column, section.metrics[0].kind),
                ("conversion_from_previous_rate", RATE),
                ("conversion_from_start_rate", RATE),
                ("drop_off", COUNT),
                *((extra.key, extra.kind) for extra in section.metrics[1:]),
            )
            for row in section_data.rows:
                step = str(row["step_number"])
                rows.append(((*prefix, section.key, step, "step_name", row["label"]), TEXT))
                for name, kind in names:
                    rows.append(((*prefix, section.key, step, name, csv_value(row.get(name))), kind))
        elif section.kind == HEATMAP:
            size = section.metrics[1].column if len(section.metrics) > 1 else "cohort_size"
            rate = section.metrics[0].key
            for row in section_data.rows:
                key = csv_value(row["cohort_start"]) if row["cohort_start"] is not None else "benchmark"
                if row.get(size) is not None or row["cohort_start"] is not None:
                    rows.append(((*prefix, section.key, key, size, csv_value(row.get(size))), COUNT))
                for number in section_data.period_numbers:
                    value = row.get(f"period_{number}")
                    if value is not None:
                        rows.append(((*prefix, section.key, key, f"{rate}_period_{number}", csv_value(value)), RATE))
    return rows


def _csv_text(header: list[str] | tuple[str, ...], rows: list[list[str]] | list[tuple[str, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe(str(cell)) for cell in header])
    writer.writerows([csv_safe(str(cell)) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def section_files(data: ReportData) -> list[tuple[str, bytes]]:
    """(file name, CSV bytes) per section, as the zip holds them."""
    files = []
    for number, section in enumerate(data.sections, start=1):
        name = f"{number:02d}_{section.section.key}.csv"
        if not section.available:
            files.append(
                (name, _csv_text(["status", "source"], [[section.note or "not available", section.section.table]]))
            )
            continue
        columns, rows = section_table(data, section)
        files.append(
            (
                name,
                _csv_text(
                    [*(column.name for column in columns), "currency"],
                    [[*(csv_value(value) for value, _ in row), _row_currency(data, row)] for row in rows],
                ),
            )
        )
    return files


def _row_currency(data: ReportData, row: list[tuple[Any, str]]) -> str:
    """The currency of a section-table row that holds money (its money cells), empty otherwise."""
    return (data.currency or "") if any(kind == MONEY for _, kind in row) else ""


def zip_bytes(data: ReportData) -> bytes:
    buffer = io.BytesIO()
    stamp = data.generated_at.astimezone(UTC).timetuple()[:6]
    files = section_files(data)
    readme = [
        f"Meridian {data.report_type.title.lower()} for {data.tenant_id}, {data.period.label} "
        f"({data.period.start.isoformat()} to {data.period.end.isoformat()}).",
        report_period_statement(data),
        currency_statement(data) + " Each file's last column, currency, names it on the rows that hold money.",
        "",
    ]
    for (name, _), section in zip(files, data.sections, strict=True):
        state = "" if section.available else f" (not available: {section.note})"
        readme.append(f"{name}: {section.section.title}{state}")
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in [("README.txt", "\n".join(readme).encode("utf-8") + b"\n"), *files]:
            info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, payload)
    return buffer.getvalue()


def render_csv(data: ReportData, folder: Path) -> Path:
    if data.parameters.get("csv_layout") == "zip":
        return write_atomically(Path(folder) / f"{file_stem(data)}_csv.zip", zip_bytes(data))
    return write_atomically(Path(folder) / f"{file_stem(data)}.csv", _csv_text(HEADER, csv_rows(data)))
