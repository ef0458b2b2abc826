"""The payment statistics of meridian.serve.api.one_pass (the summary and the per-method figures in one grouping-sets
pass, distinct payers from a hash aggregate) answer exactly what the two plain aggregates with
``count(distinct user_id)`` they replaced answered: the same JSON values for every figure, over ranges with and
without payments, as each tenant under row-level security."""

from __future__ import annotations

from datetime import date

import pytest

from meridian import db
from meridian.serve import rls
from meridian.serve.api import one_pass

# the sections as they were: the summary and the per-method figures as two aggregates, payers by count(distinct)
REFERENCE_COLUMNS = f"""
    count(*) as attempts,
    count(*) filter (where is_succeeded) as succeeded,
    count(*) filter (where status = 'failed') as failed,
    count(*) filter (where status = 'pending') as pending,
    coalesce(sum(amount) filter (where is_succeeded), 0) as volume,
    count(distinct user_id collate "C") filter (where is_succeeded) as unique_payers,
    avg(latency_ms) as latency_avg_ms,
    percentile_cont({one_pass.PERCENTILE_ARRAY}) within group (order by latency_ms) as latency_percentiles_ms
"""
REFERENCE_SUMMARY = "(select to_json(summary) from (select {columns} from range_rows where {where}) as summary)"
REFERENCE_BY_METHOD = ("(select json_agg(per_method order by per_method.method) from (select method, {columns} "
                       "from range_rows group by method) as per_method)")
TRENDS_SPLIT = "created_at >= %(current_start)s::date::timestamptz"
RANGES = [
    (date(2026, 8, 1), date(2026, 10, 31)),  # the test data's whole history (tests/api/build.py)
    (date(2026, 10, 2), date(2026, 10, 31)),
    (date(2026, 10, 25), date(2026, 10, 31)),
    (date(2026, 10, 31), date(2026, 10, 31)),
    (date(2020, 1, 1), date(2020, 1, 31)),  # no payments: zeros and nulls
]


def sections(tenant: str, named: dict[str, str], start: date, end: date) -> dict:
    sql = (f"with {one_pass.range_rows(one_pass.STATS_RANGE_COLUMNS + ', created_at')} select "
           + ", ".join(f"({section})::text as {name}" for name, section in named.items()))
    params = {"tenant": tenant, "start": start, "end": end, "current_start": end.replace(day=max(1, end.day - 6))}
    with db.connection("warehouse") as conn, rls.tenant_scope(conn, tenant) as cur:
        cur.execute(sql, params)
        values = cur.fetchone()
    return {name: one_pass.parse(value) for name, value in zip(named, values, strict=True)}


def one_pass_against_the_two_aggregates(tenant: str, start: date, end: date, figures: str,
                                         reference: str) -> tuple[dict, list[dict]]:
    """summary_and_methods(figures) and by_method_section(figures) against the summary and per-method aggregates of
    ``reference`` (the same figures, as they were spelled): the same JSON values. The total and the methods."""
    found = sections(tenant, {
        "stats": one_pass.summary_and_methods(figures),
        "methods": one_pass.by_method_section(figures),
        "summary": REFERENCE_SUMMARY.format(columns=reference, where="true"),
        "by_method": REFERENCE_BY_METHOD.format(columns=reference)}, start, end)
    total, methods = one_pass.split_stats(found["stats"])
    assert total.pop("method") is None
    assert total == found["summary"]
    assert methods == (found["by_method"] or [])
    assert found["methods"] == found["by_method"]
    return total, methods


@pytest.mark.parametrize("tenant", ["acme", "globex"])
@pytest.mark.parametrize(("start", "end"), RANGES)
def test_summary_and_methods_as_the_two_aggregates(api_world, tenant, start, end):
    assert one_pass.SUMMARY_AND_METHODS == one_pass.summary_and_methods(one_pass.SUMMARY_COLUMNS)
    assert one_pass.BY_METHOD == one_pass.by_method_section(one_pass.SUMMARY_COLUMNS)
    total, methods = one_pass_against_the_two_aggregates(tenant, start, end, one_pass.SUMMARY_COLUMNS,
                                                         REFERENCE_COLUMNS)
    if (start, end) == RANGES[0]:
        assert total["unique_payers"] and len(methods) > 1, "the history has payers and several methods to compare"
    if start.year == 2020:
        assert total["attempts"] == 0 and methods == [], "the range has no payments"


@pytest.mark.parametrize("tenant", ["acme", "globex"])
@pytest.mark.parametrize(("start", "end"), RANGES)
def test_payers_of_part_of_the_range_as_count_distinct(api_world, tenant, start, end):
    """summary_section with a ``where`` (the trends' two spans): its payers are those of the matching rows."""
    found = sections(tenant, {
        "current": one_pass.summary_section(TRENDS_SPLIT),
        "previous": one_pass.summary_section(f"not ({TRENDS_SPLIT})"),
        "current_reference": REFERENCE_SUMMARY.format(columns=REFERENCE_COLUMNS, where=TRENDS_SPLIT),
        "previous_reference": REFERENCE_SUMMARY.format(columns=REFERENCE_COLUMNS, where=f"not ({TRENDS_SPLIT})")},
        start, end)
    assert found["current"] == found["current_reference"]
    assert found["previous"] == found["previous_reference"]


@pytest.mark.parametrize("tenant", ["acme", "globex"])
@pytest.mark.parametrize(("start", "end"), RANGES)
@pytest.mark.parametrize("columns", ["LATENCY_COLUMNS", "COUNT_COLUMNS"])
def test_latency_and_count_figures_as_the_two_aggregates(api_world, tenant, start, end, columns):
    """/payments/latency's and /payments/success-rate's one pass against their summary and per-method sections."""
    figures = getattr(one_pass, columns)
    one_pass_against_the_two_aggregates(tenant, start, end, figures, figures)
