""":func:`section_table`: every section as one typed table (the XLSX sheet and the per-section CSV
file, and the tables of the PDF and HTML), so the spreadsheet formats hold the very values the PDF
and HTML show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meridian.reports.data import ReportData, SectionData
from meridian.reports.model import (
    BREAKDOWN_TABLE,
    COUNT,
    FUNNEL,
    HEATMAP,
    KPI_TILES,
    METRIC_TABLE,
    MONEY,
    RATE,
    TREND_CHART,
)
from meridian.reports.summary import DATE, LABEL, metric_table_rows, relative_change, scope_labels

# --- one typed table per section --------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str | None = None  # None: the kind is per row (metric tables)


Cell = tuple[Any, str]  # (value, kind)


def column_header(column: Column, currency: str | None) -> str:
    """A table column's header; a money column names its currency (``MRR (EUR)``), its cells then plain numbers."""
    return f"{column.label} ({currency})" if column.kind == MONEY and currency else column.label


def section_table(data: ReportData, section: SectionData) -> tuple[list[Column], list[list[Cell]]]:
    """The section as a header and rows of typed cells (raw values, not rounded for display)."""
    definition = section.section
    kind = definition.kind
    if kind in (KPI_TILES, METRIC_TABLE):
        current_label, previous_label = scope_labels(section, short=False)
        columns = [
            Column("metric", "Metric", LABEL),
            Column("name", "Key", LABEL),
            Column("current", current_label or "This period"),
            Column("previous", previous_label or "Previous period"),
            Column("change", "Change"),
            Column("change_pct", "Change %", RATE),
        ]
        rows = []
        for row in metric_table_rows(data, section):
            assert row.metric is not None
            diff, relative = relative_change(row.raw_current, row.raw_previous, row.metric.kind)
            rows.append(
                [
                    (row.label, LABEL),
                    (row.metric.key, LABEL),
                    (row.raw_current, row.metric.kind),
                    (row.raw_previous, row.metric.kind),
                    (diff, row.metric.kind),
                    (relative, RATE),
                ]
            )
        return columns, rows
    if kind == TREND_CHART:
        columns = [Column("period_start", "Period start", DATE), Column("period_end", "Period end", DATE)]
        columns += [Column(metric.key, metric.label, metric.kind) for metric in definition.metrics]
        rows = [
            [(point["period_start"], DATE), (point["period_end"], DATE)]
            + [(point.get(metric.key), metric.kind) for metric in definition.metrics]
            for point in section.rows
        ]
        return columns, rows
    if kind == BREAKDOWN_TABLE:
        columns = [Column("label", definition.group_label or "Group", LABEL), Column("key", "Key", LABEL)]
        columns += [Column(item.name, item.label, item.kind) for item in definition.aggregates]
        rows = [
            [(row["label"], LABEL), (row["key"], LABEL)]
            + [(row.get(item.name), item.kind) for item in definition.aggregates]
            for row in section.rows
        ]
        if definition.total_label and section.total is not None and section.rows:
            rows.append(
                [(section.total["label"], LABEL), (None, LABEL)]
                + [(section.total.get(item.name), item.kind) for item in definition.aggregates]
            )
        return columns, rows
    if kind == FUNNEL:
        reached = definition.metrics[0]
        columns = [
            Column("step_number", "Step", COUNT),
            Column("step_name", "Step name", LABEL),
            Column(reached.column, reached.label, COUNT),
            Column("conversion_from_previous_rate", "From previous", RATE),
            Column("conversion_from_start_rate", "From start", RATE),
            Column("drop_off", "Drop-off", COUNT),
        ]
        columns += [Column(extra.key, extra.label, extra.kind) for extra in definition.metrics[1:]]
        rows = [
            [
                (row.get(column.name if column.name != "step_name" else "label"), column.kind or LABEL)
                for column in columns
            ]
            for row in section.rows
        ]
        return columns, rows
    if kind == HEATMAP:
        size = definition.metrics[1] if len(definition.metrics) > 1 else None
        size_key = size.column if size else "cohort_size"
        columns = [Column("cohort_start", "Cohort", DATE), Column(size_key, "Cohort size", COUNT)]
        columns += [Column(f"period_{n}", f"Period {n}", RATE) for n in section.period_numbers]
        rows = [
            [(row["cohort_start"], DATE) if row["cohort_start"] is not None else (row["label"], LABEL)]
            + [(row.get(size_key), COUNT)]
            + [(row.get(f"period_{n}"), RATE) for n in section.period_numbers]
            for row in section.rows
        ]
        return columns, rows
    raise ValueError(f"no table layout for section kind {kind!r}")


__all__ = ["Cell", "Column", "column_header", "section_table"]
