"""Every report type in every format, against generated marts in a private PostgreSQL.

The marts every section of the registry names are created here with the
columns the sections read and filled with generated rows for two tenants
(globex's counts and money are ~10,000 times acme's, so a leak shows). The
expected figures are computed by SQL over those marts, independently of the
report code's Python aggregation, and compared with the cells of the rendered
XLSX and CSV. The PDFs are turned into PNG pages to count pages and find the
charts' ink.
"""

from __future__ import annotations

import csv
import io
import random
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from psycopg2.extras import execute_values

from meridian import db
from meridian.delivery.message import build_message
from meridian.devtools.bench_reports import bench_render
from meridian.reports.data import load_report_data, previous_period
from meridian.reports.model import (
    AVG,
    BREAKDOWN_TABLE,
    COHORT,
    COUNT,
    FORECAST,
    HOUR,
    HOUR_OF_DAY,
    KPI_TILES,
    LAST,
    MAX,
    METRIC_TABLE,
    MONEY,
    MONTH,
    NUMBER,
    PERIOD_TYPED,
    RATE,
    RATIO,
    SUM,
    TEXT,
    WEEK_COHORT,
    WEIGHTED,
    Section,
    Source,
)
from meridian.reports.periods import period_for
from meridian.reports.registry import REPORT_TYPES
from meridian.reports.render import render_report
from meridian.reports.render.html_email import email_html
from tests.conftest import private_warehouse

FIRST_DAY, LAST_DAY = date(2026, 5, 1), date(2026, 10, 31)
GENERATED_AT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
FACTOR = {"acme": 1, "globex": 10_007}
TEXT_COLUMNS = {"period_type", "cohort_grain", "funnel_name", "user_id", "plan_name", "rep_name", "step_name"}
INT_COLUMNS = {"period_number", "step_number"}
DUE = {
    "daily": datetime(2026, 10, 31, 6, tzinfo=UTC),  # 30 October vs 29 October
    "weekly": datetime(2026, 10, 29, 6, tzinfo=UTC),  # Thu 22 – Wed 28 October vs 15 – 21 October
    "monthly": datetime(2026, 10, 1, 6, tzinfo=UTC),  # September vs August
    "weekly-monday": datetime(2026, 10, 26, 6, tzinfo=UTC),  # Mon 19 – Sun 25 October: the marts' own weeks
}
EXPECTED_PERIODS = {
    "daily": ((date(2026, 10, 30), date(2026, 10, 30)), (date(2026, 10, 29), date(2026, 10, 29))),
    "weekly": ((date(2026, 10, 22), date(2026, 10, 28)), (date(2026, 10, 15), date(2026, 10, 21))),
    "monthly": ((date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 8, 1), date(2026, 8, 31))),
    "weekly-monday": ((date(2026, 10, 19), date(2026, 10, 25)), (date(2026, 10, 12), date(2026, 10, 18))),
}
GROUP_VALUES = {
    "movement": ["new", "expansion", "reactivation", "contraction", "churn", "unchanged"],
    "method": ["card", "wallet", "bank_transfer"],
    "event_type": ["app_open", "screen_view", "match_created", "message_sent", "payment"],
    "failure_reason": ["card_declined", "insufficient_funds", "expired_card", "fraud_suspected"],
    "resource": [f"resource_{n}" for n in range(1, 13)],
    "plan_id": ["basic_m", "pro_m", "pro_y"],
    "rep_id": ["rep_1", "rep_2", "rep_3"],
    "country": ["US", "DE", "ZZ"],
    "channel": ["paid_social", "paid_search", "organic"],
}


# --- the generated marts ------------------------------------------------------------------------


def _sources() -> dict[Source, list[Section]]:
    found: dict[Source, list[Section]] = {}
    for report_type in REPORT_TYPES.values():
        for section in report_type.sections:
            found.setdefault(section.source, []).append(section)
    return found


def _column_kinds(sections: list[Section]) -> dict[str, str]:
    """Column → value kind, from how the registry's sections read it."""
    kinds: dict[str, str] = {}
    source = sections[0].source
    for section in sections:
        for metric in section.metrics:
            if metric.agg == RATIO:
                kinds.setdefault(metric.column, MONEY if metric.kind == MONEY else COUNT)
            else:
                kinds.setdefault(metric.column, metric.kind)
            for column in metric.over:
                kinds.setdefault(column, COUNT)
        for aggregate in section.aggregates:
            if aggregate.function == "share":
                continue
            if aggregate.function == RATIO:
                kinds.setdefault(aggregate.column, COUNT)
            elif aggregate.function == "count_distinct":
                kinds.setdefault(aggregate.column, TEXT)
            else:
                kinds.setdefault(aggregate.column, aggregate.kind)
            for column in aggregate.over:
                kinds.setdefault(column, COUNT)
        if section.group_by and section.group_by != HOUR_OF_DAY:
            kinds[section.group_by] = TEXT
        if section.label_column:
            kinds[section.label_column] = TEXT
    for column, _ in source.filters:
        kinds[column] = TEXT
    for column in source.key_columns:
        if column in TEXT_COLUMNS or column == "tenant_id":
            kinds[column] = TEXT
        elif column in INT_COLUMNS:
            kinds[column] = "int"
        elif column == source.period_column or column == "period_start":
            kinds[column] = "date"
    if source.grain == HOUR:
        kinds[source.period_column] = "timestamptz"
    kinds["tenant_id"] = TEXT
    return kinds


SQL_TYPES = {
    TEXT: "text",
    COUNT: "integer",
    "int": "integer",
    MONEY: "numeric(14,2)",
    RATE: "numeric(9,4)",
    NUMBER: "numeric(14,2)",
    "date": "date",
    "timestamptz": "timestamptz",
}


def _value(rng: random.Random, kind: str, factor: int) -> object:
    if kind == COUNT:
        return rng.randint(0, 400) * factor
    if kind == MONEY:
        return Decimal(rng.randint(0, 500_000)) / 100 * factor
    if kind == RATE:
        return Decimal(rng.randint(0, 10_000)) / 10_000
    if kind == NUMBER:
        return Decimal(rng.randint(0, 90_000)) / 100
    if kind == TEXT:
        return rng.choice(["knockout", "swiss", "round_robin"])
    raise ValueError(kind)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _months() -> list[date]:
    return [date(2026, month, 1) for month in range(5, 11)]


def _rows(source: Source, kinds: dict[str, str], tenant: str, rng: random.Random) -> list[dict]:
    factor = FACTOR[tenant]
    measures = [
        column
        for column, kind in kinds.items()
        if column not in source.key_columns and kind in (COUNT, MONEY, RATE, NUMBER)
    ]
    text_measures = [column for column in kinds if column == "most_popular_format"]
    groups = [column for column in kinds if column in GROUP_VALUES]
    group = groups[0] if groups else None
    label_column = next((column for column in ("plan_name", "rep_name") if column in kinds), None)

    def measure_row(**keys: object) -> dict:
        row = {"tenant_id": tenant, **dict(source.filters), **keys}
        for column in measures:
            row[column] = _value(rng, kinds[column], factor)
        for column in text_measures:
            row[column] = _value(rng, TEXT, factor)
        if "user_id" in kinds:
            row["user_id"] = f"{tenant}-u{rng.randint(1, 40)}"
        return row

    rows: list[dict] = []
    if source.grain in ("day", PERIOD_TYPED):
        for day in _days(FIRST_DAY, LAST_DAY):
            for value in GROUP_VALUES[group] if group else [None]:
                keys = {source.period_column: day}
                if group:
                    keys[group] = value
                if source.grain == PERIOD_TYPED:
                    keys["period_type"] = "day"
                rows.append(measure_row(**keys))
        if source.grain == PERIOD_TYPED:
            for period_type, starts in (
                ("week", [FIRST_DAY + timedelta(days=7 - FIRST_DAY.weekday() + 7 * n) for n in range(25)]),
                ("month", _months()),
            ):
                for start in starts:
                    rows.append(measure_row(**{source.period_column: start, "period_type": period_type}))
    elif source.grain == HOUR:
        for day in _days(FIRST_DAY, LAST_DAY):
            for hour in range(24):
                rows.append(measure_row(**{source.period_column: datetime.combine(day, time(hour), tzinfo=UTC)}))
    elif source.grain == MONTH:
        for month in _months():
            if group == "movement":
                for user in range(1, 41):
                    row = measure_row(**{source.period_column: month, "movement": rng.choice(GROUP_VALUES["movement"])})
                    row["user_id"] = f"{tenant}-u{user}"
                    rows.append(row)
                continue
            for value in GROUP_VALUES[group] if group else [None]:
                keys = {source.period_column: month}
                if group:
                    keys[group] = value
                row = measure_row(**keys)
                if label_column:
                    row[label_column] = f"{value} name"
                rows.append(row)
    elif source.grain == COHORT:
        for grain, starts, step in (
            ("month", _months(), None),
            ("week", [date(2026, 5, 4) + timedelta(days=7 * n) for n in range(26)], 7),
        ):
            for start in starts:
                size = rng.randint(50, 300) * factor
                number, period_start = 0, start
                while period_start <= LAST_DAY and number <= 12:
                    rows.append(
                        {
                            "tenant_id": tenant,
                            "cohort_grain": grain,
                            source.period_column: start,
                            "period_number": number,
                            "period_start": period_start,
                            "cohort_size": size,
                            "retention_rate": Decimal("1.0000")
                            if number == 0
                            else Decimal(rng.randint(50, 6000)) / 10_000,
                        }
                    )
                    number += 1
                    period_start = (
                        period_start + timedelta(days=step)
                        if step
                        else date(period_start.year + period_start.month // 12, period_start.month % 12 + 1, 1)
                    )
    elif source.grain == WEEK_COHORT:
        for week in [date(2026, 5, 4) + timedelta(days=7 * n) for n in range(26)]:
            reached = rng.randint(200, 900) * factor
            for step in range(1, 6):
                rows.append(
                    {
                        "tenant_id": tenant,
                        **dict(source.filters),
                        source.period_column: week,
                        "step_number": step,
                        "step_name": f"Step {step} of {source.filters[0][1]}",
                        "entities_reached": reached,
                        "avg_seconds_from_previous": None if step == 1 else Decimal(rng.randint(100, 900_000)) / 100,
                    }
                )
                reached = reached * rng.randint(40, 95) // 100
    elif source.grain == FORECAST:  # the months after the data, as a run at its end forecasts them
        for month in [*_months(), *(date(2026, month, 1) for month in (11, 12)), *(date(2027, m, 1) for m in range(1, 6))]:
            rows.append(measure_row(**{source.period_column: month}))
    return rows


def create_marts(conn) -> None:
    rng = random.Random(20261031)
    with conn.cursor() as cur:
        cur.execute("drop schema if exists marts cascade")
        cur.execute("create schema marts")
        by_table: dict[str, list[Source]] = {}
        for source in _sources():
            by_table.setdefault(source.table, []).append(source)
        for table, sources in by_table.items():
            kinds: dict[str, str] = {}
            for source in sources:
                kinds.update(_column_kinds(_sources()[source]))
            columns = ", ".join(f"{name} {SQL_TYPES[kind]}" for name, kind in kinds.items())
            cur.execute(f"create table {table} ({columns})")
            names = list(kinds)
            for source in sources:
                for tenant in FACTOR:
                    rows = _rows(source, kinds, tenant, rng)
                    execute_values(
                        cur,
                        f"insert into {table} ({', '.join(names)}) values %s",
                        [[row.get(name) for name in names] for row in rows],
                    )
        # the cohort benchmarks heat-maps compare with: the mean of the cohorts' rates per grain and period
        for table in {s.benchmark for r in REPORT_TYPES.values() for s in r.sections if s.benchmark}:
            cur.execute(
                f"create table {table} as select tenant_id, cohort_grain, period_number, "
                "count(*)::integer as cohorts, round(avg(retention_rate), 4)::numeric(7,4) as avg_retention_rate "
                "from marts.fct_retention_cohorts group by 1, 2, 3"
            )
    conn.commit()


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Path]:
    with private_warehouse("meridian-report-types-test-", create_marts) as base:
        yield base


def load(report_name: str, case: str, tenant: str = "acme", parameters: dict | None = None):
    """``case`` is a frequency, or ``weekly-monday`` for a weekly report due on a Monday."""
    report_type = REPORT_TYPES[report_name]
    with db.connection("warehouse") as conn:
        return load_report_data(conn, report_type, tenant, period_for(DUE[case], case.split("-")[0]),
                                report_type.resolve_parameters(parameters or {}), generated_at=GENERATED_AT)


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def read_long_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def workbook_text(path: Path) -> str:
    book = openpyxl.load_workbook(path)
    return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row)


needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed")


# --- the expected figures, by SQL ------------------------------------------------------------------


def _places(kind: str) -> int:
    return 4 if kind == RATE else 2


def _metric_sql(metric, day_column: str) -> str:
    column = metric.column
    if metric.agg == SUM:
        return f"sum({column})"
    if metric.agg == MAX:
        return f"max({column})"
    if metric.agg == AVG:
        return f"round(avg({column}), {_places(metric.kind)})"
    if metric.agg == LAST:
        if metric.kind == TEXT:
            return f"max({column}) filter (where {day_column} = (select max({day_column}) from r))"
        return f"sum({column}) filter (where {day_column} = (select max({day_column}) from r))"
    if metric.agg == RATIO:
        denominator = " + ".join(f"coalesce(sum({name}), 0)" for name in metric.over)
        return f"round(sum({column})::numeric / nullif({denominator}, 0), {_places(metric.kind)})"
    if metric.agg == WEIGHTED:
        weight = metric.over[0]
        return (
            f"round(sum({column} * {weight}) filter (where {column} is not null) / "
            f"nullif(sum({weight}) filter (where {column} is not null), 0), {_places(metric.kind)})"
        )
    raise ValueError(metric.agg)


def expected_metrics(cur, section: Section, tenant: str, start: date, end: date, frequency: str) -> dict:
    """The section's metrics over [start, end] for the tenant, computed in SQL from the mart's rows."""
    source = section.source
    period = source.period_column
    where = "tenant_id = %s"
    values: list = [tenant]
    own = None
    if source.grain == MONTH:
        where += f" and {period} = %s"
        values.append(start.replace(day=1))
    elif source.grain == PERIOD_TYPED:
        if frequency == "monthly":
            own = "month"
        elif frequency == "daily":
            own = "day"
        elif start.weekday() == 0:
            own = "week"
        if own:
            where += f" and period_type = %s and {period} = %s"
            values += [own, start]
        else:
            where += f" and period_type = 'day' and {period} between %s and %s"
            values += [start, end]
    else:
        where += f" and {period} between %s and %s"
        values += [start, end]
    not_additive = source.grain == PERIOD_TYPED and not own and start != end  # the mart's own period rows only
    selects = ", ".join(
        f"{'null' if metric.kind == TEXT and not_additive else _metric_sql(metric, period)} as {metric.key}"
        for metric in section.metrics
    )
    cur.execute(f"with r as (select * from {source.table} where {where}) select {selects} from r", values)
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def _equal(actual, expected) -> bool:
    if expected is None:
        return actual in (None, "")
    if isinstance(expected, str):
        return actual == expected
    return Decimal(str(actual)) == Decimal(str(expected))


# --- tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
def test_period_and_previous_period_for_each_frequency(warehouse, frequency):
    data = load("executive", frequency)
    (start, end), (previous_start, previous_end) = EXPECTED_PERIODS[frequency]
    assert (data.period.start, data.period.end) == (start, end)
    assert (data.previous_period.start, data.previous_period.end) == (previous_start, previous_end)
    assert previous_period(data.period) == data.previous_period
    revenue = data.section("revenue")
    assert (revenue.scope.start, revenue.previous_scope.start) == (start, previous_start)
    sales = data.section("sales")  # a monthly mart: the month (to date) of the period's last day
    assert sales.scope.start == end.replace(day=1) and sales.previous_scope.end == end.replace(day=1) - timedelta(1)
    assert (sales.caption is None) == (frequency == "monthly")


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
@pytest.mark.parametrize("report_name", sorted(REPORT_TYPES))
def test_every_report_type_renders_in_every_format(warehouse, report_name, frequency):
    data = load(report_name, frequency)
    assert data.sections and all(section.available and section.has_data for section in data.sections), [
        (section.section.key, section.note) for section in data.sections if not section.has_data
    ]
    folder = warehouse / "out" / "all" / frequency
    pdf, csv_path, xlsx, html = render_report(data, ["pdf", "csv", "xlsx", "html"], folder)
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = pdf_pages(pdf)
    assert f"Page {pages} of {pages}" in pdf_text(pdf)
    if report_name == "executive":
        assert pages == 1
    book = openpyxl.load_workbook(xlsx)
    assert len(book.sheetnames) == 1 + len(data.sections)
    assert all(ws.freeze_panes == "A2" for ws in book.worksheets)
    rows = read_long_csv(csv_path)
    assert {row["section"] for row in rows} == {section.section.key for section in data.sections}
    assert not [row for row in rows if row["metric"] == "status"]
    page = html.read_text(encoding="utf-8")
    for section in data.sections:
        assert f'id="{section.section.key}"' in page


@pytest.mark.parametrize("case", ["daily", "weekly", "weekly-monday", "monthly"])
def test_xlsx_and_csv_numbers_equal_the_marts(warehouse, case):
    data = load("comprehensive", case)
    frequency = case.split("-")[0]
    folder = warehouse / "out" / "numbers" / case
    (csv_path, xlsx) = render_report(data, ["csv", "xlsx"], folder)
    book = openpyxl.load_workbook(xlsx)
    long_rows = {(row["section"], row["key"], row["metric"]): row["value"] for row in read_long_csv(csv_path)}
    sheets = dict(zip([s.section.key for s in data.sections], book.sheetnames[1:], strict=True))
    checked = 0
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for section_data in data.sections:
            section = section_data.section
            if section.kind not in (KPI_TILES, METRIC_TABLE):
                continue
            current_scope, previous_scope = EXPECTED_PERIODS[case]
            if section.source.grain == MONTH:  # monthly marts: the month of the period's last day, and the one before
                month = current_scope[1].replace(day=1)
                current_scope = (month, current_scope[1])
                previous_month = (month - timedelta(days=1)).replace(day=1)
                previous_scope = (previous_month, month - timedelta(days=1))
            current = expected_metrics(cur, section, "acme", *current_scope, frequency)
            previous = expected_metrics(cur, section, "acme", *previous_scope, frequency)
            ws = book[sheets[section.key]]
            by_name = {row[1]: row for row in ws.iter_rows(min_row=2, values_only=True) if row[1]}
            for metric in section.metrics:
                cells = by_name[metric.key]
                assert _equal(cells[2], current[metric.key]), (section.key, metric.key, cells, current[metric.key])
                assert _equal(cells[3], previous[metric.key]), (section.key, metric.key, cells, previous[metric.key])
                csv_current = long_rows[(section.key, current_scope[0].isoformat(), metric.key)]
                csv_previous = long_rows[(section.key, previous_scope[0].isoformat(), metric.key)]
                assert _equal(csv_current or None, current[metric.key]), (section.key, metric.key)
                assert _equal(csv_previous or None, previous[metric.key]), (section.key, metric.key)
                checked += 1
        assert checked > 60

        # breakdowns: every summed aggregate of every group, and the totals row
        start, end = EXPECTED_PERIODS[case][0]
        for section_data in data.sections:
            section = section_data.section
            if section.kind != BREAKDOWN_TABLE:
                continue
            source = section.source
            sums = [a for a in section.aggregates if a.function == SUM]
            group = (
                "extract(hour from hour_start at time zone 'UTC')::int"
                if section.group_by == HOUR_OF_DAY
                else (section.group_by)
            )
            if source.grain == MONTH:
                condition, values = f"{source.period_column} = %s", [end.replace(day=1)]
            elif source.grain == FORECAST:  # the six months after the period's month
                first = (end.replace(day=1) + timedelta(days=32)).replace(day=1)
                condition = f"{source.period_column} >= %s and {source.period_column} < %s"
                values = [first, date(first.year + (first.month + 5) // 12, (first.month + 5) % 12 + 1, 1)]
            elif source.grain == HOUR:
                condition = f"{source.period_column} >= %s and {source.period_column} < %s"
                values = [
                    datetime.combine(start, time(), tzinfo=UTC),
                    datetime.combine(end + timedelta(1), time(), tzinfo=UTC),
                ]
            else:
                condition, values = f"{source.period_column} between %s and %s", [start, end]
            cur.execute(
                f"select {group}, {', '.join(f'sum({a.column})' for a in sums)} from {source.table} "
                f"where tenant_id = %s and {condition} group by 1",
                ["acme", *values],
            )
            expected = {str(row[0]): row[1:] for row in cur.fetchall()}
            ws = book[sheets[section.key]]
            header = [cell.value for cell in ws[1]]
            rows = [row for row in ws.iter_rows(min_row=2, values_only=True) if row[1] is not None]
            assert rows
            for row in rows:
                key = str(row[1].date()) if isinstance(row[1], datetime) else str(row[1])  # a date group (forecast)
                for index, aggregate in enumerate(sums):
                    cell = row[header.index(aggregate.label)]
                    assert _equal(cell, expected[key][index]), (section.key, row, aggregate.name)
                    value = long_rows[(section.key, key, aggregate.name)]
                    assert _equal(value, expected[key][index])
            if section.total_label:
                total = next(row for row in ws.iter_rows(min_row=2, values_only=True) if row[0] == section.total_label)
                for index, aggregate in enumerate(sums):
                    whole = sum(
                        (
                            values[index] or 0
                            for key, values in expected.items()
                            if not section.groups or key in {str(g) for g, _ in section.groups}
                        ),
                        0,
                    )
                    assert _equal(total[header.index(aggregate.label)], whole), (section.key, aggregate.name)

        # the funnel: entities reached per step over the cohort weeks that overlap the period
        funnel = data.section("users_onboarding_funnel")
        monday = start - timedelta(days=start.weekday())
        cur.execute(
            "select step_number, sum(entities_reached) from marts.fct_funnel_steps where tenant_id = 'acme' "
            "and funnel_name = 'onboarding' and cohort_week between %s and %s group by 1 order by 1",
            (monday, end),
        )
        expected_steps = cur.fetchall()
        ws = book[sheets["users_onboarding_funnel"]]
        steps = [(row[0], row[2]) for row in ws.iter_rows(min_row=2, values_only=True) if isinstance(row[0], int)]
        assert steps == expected_steps
        assert [row["entities_reached"] for row in funnel.rows] == [reached for _, reached in expected_steps]

        # the heat-map: the latest cohort's period-0 and the oldest shown cohort's last rate
        grain = "month" if frequency == "monthly" else "week"
        cur.execute(
            "select cohort_start, period_number, retention_rate from marts.fct_retention_cohorts "
            "where tenant_id = 'acme' and cohort_grain = %s and cohort_start <= %s and period_start <= %s",
            (grain, end, end),
        )
        rates = {(row[0], row[1]): row[2] for row in cur.fetchall()}
        ws = book[sheets["users_retention"]]
        header = [cell.value for cell in ws[1]]
        for row in ws.iter_rows(min_row=2, values_only=True):
            if not isinstance(row[0], datetime):
                continue
            for index, label in enumerate(header[2:], start=2):
                number = int(label.split()[-1])
                assert _equal(row[index], rates.get((row[0].date(), number))), (row[0], number)

        # the cohorts against the benchmark: a benchmark row, then each cohort's rate minus the benchmark
        cur.execute(
            "select period_number, avg_retention_rate from marts.fct_cohort_benchmarks "
            "where tenant_id = 'acme' and cohort_grain = %s",
            (grain,),
        )
        benchmark = dict(cur.fetchall())
        ws = book[sheets["users_cohort_benchmarks"]]
        header = [cell.value for cell in ws[1]]
        sheet_rows = [row for row in ws.iter_rows(min_row=2, values_only=True) if row[0] is not None]
        assert sheet_rows[0][0] == "Benchmark"
        compared = 0
        for row in sheet_rows:
            for index, label in enumerate(header[2:], start=2):
                number = int(label.split()[-1])
                if row[0] == "Benchmark":
                    assert _equal(row[index], benchmark.get(number)), number
                elif isinstance(row[0], datetime):
                    rate = rates.get((row[0].date(), number))
                    wanted = None if rate is None else rate - benchmark[number]
                    assert _equal(row[index], wanted), (row[0], number)
                    compared += rate is not None
        assert compared > 10


def test_csv_zip_has_one_file_per_section_equal_to_the_sheets(warehouse):
    data = load("comprehensive", "monthly", parameters={"csv_layout": "zip"})
    (archive_path, xlsx) = render_report(data, ["csv", "xlsx"], warehouse / "out" / "zip")
    assert archive_path.name == "comprehensive_acme_2026-09_csv.zip"
    book = openpyxl.load_workbook(xlsx)
    with zipfile.ZipFile(archive_path) as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".csv"))
        assert len(names) == len(data.sections) and "README.txt" in archive.namelist()
        for name, sheet in zip(names, book.sheetnames[1:], strict=True):
            rows = list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
            ws = book[sheet]
            sheet_rows = [row for row in ws.iter_rows(min_row=2, max_row=len(rows), values_only=True)]
            for csv_row, sheet_row in zip(rows[1:], sheet_rows, strict=True):
                for text, cell in zip(csv_row, sheet_row, strict=False):
                    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                        assert Decimal(text) == Decimal(str(cell)), (name, csv_row, sheet_row)


def test_missing_marts_are_not_available_sections_in_every_format(warehouse):
    with db.connection("warehouse") as conn:
        with conn.cursor() as cur:
            cur.execute("alter table marts.fct_payment_failures_monthly rename to fct_payment_failures_old")
            cur.execute("alter table marts.fct_daily_kpis drop column mau")
        report_type = REPORT_TYPES["comprehensive"]
        data = load_report_data(
            conn, report_type, "acme", period_for(DUE["monthly"], "monthly"), {}, generated_at=GENERATED_AT
        )
        conn.rollback()
    missing = {section.section.key: section.note for section in data.sections if not section.available}
    assert missing["payments_failure_reasons"] == "not available: marts.fct_payment_failures_monthly does not exist yet"
    assert "no column mau" in missing["users_headline"]
    assert data.section("revenue_headline").available and data.section("payments_headline").has_data
    pdf, csv_path, xlsx, html = render_report(data, ["pdf", "csv", "xlsx", "html"], warehouse / "out" / "missing")
    text = " ".join(pdf_text(pdf).split())
    assert "Not available: marts.fct_payment_failures_monthly does not exist yet." in text
    statuses = {row["section"]: row["value"] for row in read_long_csv(csv_path) if row["metric"] == "status"}
    assert set(statuses) == set(missing)
    assert not any(row["section"] in missing and row["metric"] != "status" for row in read_long_csv(csv_path))
    book = openpyxl.load_workbook(xlsx)
    assert book["Failure reasons"]["A2"].value.startswith("Not available: marts.fct_payment_failures_monthly")
    assert "no column mau" in html.read_text(encoding="utf-8")


def test_tenant_isolation_across_formats(warehouse):
    texts = {}
    for tenant in FACTOR:
        data = load("comprehensive", "monthly", tenant)
        files = render_report(data, ["pdf", "csv", "xlsx", "html"], warehouse / "out" / f"iso-{tenant}")
        pdf, csv_path, xlsx, html = files
        texts[tenant] = {
            "csv": csv_path.read_text(encoding="utf-8"),
            "xlsx": workbook_text(xlsx),
            "html": html.read_text(encoding="utf-8"),
            "pdf": pdf_text(pdf),
            "mail": email_html(data, files),
        }
    acme_csv = read_long_csv(warehouse / "out" / "iso-acme" / "comprehensive_acme_2026-09.csv")
    globex_csv = read_long_csv(warehouse / "out" / "iso-globex" / "comprehensive_globex_2026-09.csv")
    assert {row["tenant_id"] for row in acme_csv} == {"acme"} and {row["tenant_id"] for row in globex_csv} == {"globex"}

    def big_numbers(rows: list[dict]) -> set[str]:
        return {row["value"] for row in rows if re.fullmatch(r"\d{9,}(\.\d+)?", row["value"] or "")}

    acme_big, globex_big = big_numbers(acme_csv), big_numbers(globex_csv)
    assert not acme_big  # acme's sums stay under 100 million; globex's figures are ~10,000 times larger
    assert len(globex_big) > 50
    for medium, text in texts["acme"].items():
        assert "globex" not in text, medium
        for number in list(globex_big)[:200]:
            assert number not in text, (medium, number)
    for text in texts["globex"].values():
        assert "acme" not in text


@needs_poppler
def test_pdf_pages_as_png_have_charts(warehouse):
    from PIL import Image

    data = load("executive", "monthly")
    (pdf,) = render_report(data, ["pdf"], warehouse / "out" / "png")
    pages_dir = warehouse / "out" / "png" / "pages"
    pages_dir.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(pages_dir / "exec")], check=True)
    pages = sorted(pages_dir.glob("exec*.png"))
    assert len(pages) == 1 == pdf_pages(pdf)
    image = Image.open(pages[0]).convert("RGB")
    width, height = image.size
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    trends_y = float(re.search(r'yMin="([\d.]+)"[^>]*>Trends<', bbox).group(1))
    page_height = 841.89
    top = int(trends_y / page_height * height)

    def blue(region: tuple[int, int, int, int]) -> int:
        return sum(1 for r, g, b in image.crop(region).getdata() if b > 180 and r < 120 and g < 160)

    charts = blue((0, top + 10, width, height - 40))  # the MRR and active users lines, below "Trends"
    left, right = blue((0, top + 10, width // 2, height - 40)), blue((width // 2, top + 10, width, height - 40))
    assert charts > 150 and left > 50 and right > 50, (charts, left, right)

    data = load("comprehensive", "monthly")
    (pdf,) = render_report(data, ["pdf"], warehouse / "out" / "png")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(pages_dir / "all")], check=True)
    pages = sorted(pages_dir.glob("all*.png"))
    assert len(pages) == pdf_pages(pdf) >= 6
    inked = [
        sum(1 for r, g, b in Image.open(page).convert("RGB").getdata() if b > 180 and r < 120 and g < 160)
        for page in pages
    ]
    assert sum(1 for count in inked if count > 100) >= 4, inked  # bars, lines and the heat-map on most pages


def test_email_carries_every_areas_headline_and_the_attachments(warehouse):
    data = load("executive", "weekly")
    files = render_report(data, ["pdf", "xlsx"], warehouse / "out" / "mail")
    message = build_message(data, files, ["ceo@acme.example.com"], sender="r@meridian.local", report_id=3)
    body = message.get_body(("html",)).get_content()
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    for area in ("Revenue", "Users", "Payments", "Sales", "Customer success", "Tournaments"):
        assert f"{area} " in text, area
    assert "vs 15–21 Oct 2026" in text
    assert {part.get_filename() for part in message.iter_attachments()} == {path.name for path in files}


def test_bench_render_times_the_comprehensive_report(warehouse):
    result = bench_render("acme", date(2026, 9, 1))
    assert result["period"] == "2026-09" and result["sections_available"] == result["sections"]
    assert set(result["seconds"]) == {"read", "pdf", "csv", "xlsx", "html", "csv_zip"}
    assert 0 < result["total_seconds"] < 30


def test_cohort_benchmark_forecast_and_funnel_time_sections_in_every_format(warehouse):
    """Issue 14: the cohort page against the benchmark, the MRR forecast and the funnel's average time."""
    data = load("comprehensive", "monthly")
    pdf, csv_path, xlsx, html = render_report(data, ["pdf", "csv", "xlsx", "html"], warehouse / "out" / "issue14")
    forecast = data.section("revenue_mrr_forecast")
    assert [row["key"] for row in forecast.rows] == [date(2026, month, 1) for month in range(10, 13)] + [
        date(2027, month, 1) for month in range(1, 4)
    ]  # the six months after September
    funnel = data.section("users_onboarding_funnel")
    assert funnel.rows[0]["avg_seconds_from_previous"] is None
    assert all(step["avg_seconds_from_previous"] is not None for step in funnel.rows[1:])
    benchmark = data.section("users_cohort_benchmarks")
    assert benchmark.rows[0]["label"] == "Benchmark" and len(benchmark.rows) > 2

    text = " ".join(pdf_text(pdf).split())
    for phrase in ("Cohorts vs benchmark", "Benchmark", "MRR forecast", "Forecast MRR", "Avg time"):
        assert phrase in text, phrase
    page = html.read_text(encoding="utf-8")
    for phrase in ('id="users_cohort_benchmarks"', "<td>Benchmark</td>", 'id="revenue_mrr_forecast"',
                   "Avg time (s)"):
        assert phrase in page, phrase
    book = openpyxl.load_workbook(xlsx)
    assert {"Cohorts vs benchmark", "MRR forecast"} <= set(book.sheetnames), book.sheetnames
    assert "Avg time (s)" in [cell.value for cell in book["Onboarding funnel"][1]]
    rows = read_long_csv(csv_path)
    metrics = {(row["section"], row["key"], row["metric"]) for row in rows}
    assert ("users_cohort_benchmarks", "benchmark", "retention_vs_benchmark_period_0") in metrics
    assert ("revenue_mrr_forecast", "2026-10-01", "forecast_mrr") in metrics
    assert ("users_onboarding_funnel", "2", "avg_seconds_from_previous") in metrics
