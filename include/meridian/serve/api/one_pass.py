"""One statement per request for the payment endpoints.

A request's figures come from a single SQL statement: the range's payment rows of fct_payment_attempts are read
once (one range scan of the ``(tenant_id, created_at)`` index into a materialized CTE), and every figure the
endpoint returns (the summary, per method, failure reasons, retries, per day, the tenant's currency, rows of the
small daily marts) is a section of the select list, each aggregated to JSON. The statistics stay exact
(``percentile_cont`` over the range's payments, ``count(distinct user_id)``), as docs/api.md requires; what
goes is the round trips and the repeated scans and sorts of two to four statements. The three latency
percentiles come from one ``percentile_cont(array[...])``: one sort, the same interpolation as three calls; the
distinct payers are counted by hashing (``select distinct user_id`` as a hash aggregate, then a count of the
non-null ids) instead of ``count(distinct user_id)``, whose sort of the range's user ids (ids sharing long
prefixes, compared in full) was the costliest step of the statement; the count is the same, equality under the
database's deterministic collation being byte equality.

Sections are returned as JSON text and parsed with decimals kept as :class:`~decimal.Decimal`, so the values
reach the handlers with the types psycopg2 gives for the same columns (numeric as Decimal, counts as int).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from meridian.serve.api.endpoint import Context

PERCENTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
PERCENTILE_ARRAY = "array[" + ", ".join(str(fraction) for _, fraction in PERCENTILES) + "]"

RANGE_COLUMNS = ("method, status, is_succeeded, amount, user_id, latency_ms, failure_reason, invoice_id, "
                 "payment_date, created_at")


def range_rows(columns: str = RANGE_COLUMNS) -> str:
    """The CTE ``range_rows``: the payment rows of [start, end] (created_at UTC dates), read once per statement,
    with the ``columns`` the statement's sections read (the fewer, the less the CTE holds and its sorts move)."""
    return f"""range_rows as materialized (
    select {columns}
    from marts.fct_payment_attempts
    where tenant_id = %(tenant)s and created_at >= %(start)s::date::timestamptz and created_at < (%(end)s::date + 1)::timestamptz
)"""


def paid_rows(columns: str, where: str = "true") -> str:
    """A subquery of the ``columns`` of the tenant's payments paid within the UTC days ``%(start)s``–``%(end)s`` (whose
    ``coalesce(settled_at, created_at)``, the paid-at instant, is in them) that match ``where``.

    Spelled with the plain columns: under row-level security the planner does not take a ``coalesce(...)`` qual as an
    index condition for a tenant role (it stays a filter over the tenant's every payment). The settled payments'
    ``settled_at`` range and the unsettled ones' ``created_at`` range are two range reads joined by ``union all``
    (disjoint: a row has a settled_at or none), each an index-only scan of its covering index (the
    payment_range_reads_index post-hook of fct_payment_attempts) once the table is vacuumed, where one scan of the
    ``or`` of both ranges is a bitmap scan of the heap."""
    start, end = "%(start)s::date::timestamptz", "(%(end)s::date + 1)::timestamptz"
    table = "marts.fct_payment_attempts where tenant_id = %(tenant)s"
    return (f"(select {columns} from {table} and settled_at >= {start} and settled_at < {end} and {where} "
            f"union all select {columns} from {table} and settled_at is null and created_at >= {start} "
            f"and created_at < {end} and {where})")


# the attempt counts alone (/payments/success-rate): no sort at all
COUNT_COLUMNS = """
    count(*) as attempts,
    count(*) filter (where is_succeeded) as succeeded,
    count(*) filter (where status = 'failed') as failed,
    count(*) filter (where status = 'pending') as pending
"""
COUNT_RANGE_COLUMNS = "method, status, is_succeeded"
# the latency figures alone (/payments/latency): no distinct-payer count, so no sort by user
LATENCY_COLUMNS = f"""
    avg(latency_ms) as latency_avg_ms,
    percentile_cont({PERCENTILE_ARRAY}) within group (order by latency_ms) as latency_percentiles_ms
"""
LATENCY_RANGE_COLUMNS = "method, payment_date, latency_ms"
# the summary's figures: the counts, the volume and the latency. ``unique_payers`` is not an aggregate of these:
# summary_section and method_figures add it from a hashed distinct of the succeeded rows' user ids (payers_count,
# PAYERS_BY_METHOD)
SUMMARY_COLUMNS = (f"{COUNT_COLUMNS.rstrip()},\n    coalesce(sum(amount) filter (where is_succeeded), 0) as volume,"
                   f"{LATENCY_COLUMNS}")


def payers_count(where: str = "true") -> str:
    """The distinct user ids of the succeeded range rows matching ``where`` (``count(distinct user_id) filter (where
    is_succeeded)``), from a hash aggregate of the ids instead of a sort of them."""
    return (f"(select count(user_id) from (select distinct user_id from range_rows where is_succeeded and ({where})) "
            "as payers)")


PAYERS_BY_METHOD = ("(select method, count(user_id) as unique_payers from (select distinct method, user_id "
                    "from range_rows where is_succeeded) as payers group by method)")
# the columns the summary, per-method and failure-reason sections read (the payers are user_id's), and the retries'
STATS_RANGE_COLUMNS = "method, status, is_succeeded, amount, user_id, latency_ms, failure_reason"
RETRIES_RANGE_COLUMNS = "status, is_succeeded, invoice_id"


def split_stats(rows: list[dict]) -> tuple[dict, list[dict]]:
    """The total row and the per-method rows (in method order) of a :func:`summary_and_methods` section, without
    ``is_total``."""
    total, methods = {}, []
    for row in rows:
        if row.pop("is_total"):
            total = row
        else:
            methods.append(row)
    return total, methods


def summary_section(where: str = "true", columns: str = SUMMARY_COLUMNS) -> str:
    """The summary of the range rows matching ``where``: one JSON object (an aggregate without group by always
    has its one row, zeros and nulls when nothing matches); with SUMMARY_COLUMNS, ``unique_payers`` too."""
    payers = f", {payers_count(where)} as unique_payers" if columns is SUMMARY_COLUMNS else ""
    return f"(select to_json(summary) from (select {columns}{payers} from range_rows where {where}) as summary)"


def method_figures(columns: str, with_total: bool) -> str:
    """``columns`` per payment method of the range rows, in method order, as a JSON array; ``with_total``, the
    total first (``is_total`` 1, always there, zeros and nulls without rows), the methods' rows ``is_total`` 0, all
    from one pass: grouping sets sort the rows by method once (or hash them, without ordered aggregates) and feed
    each to its method's aggregates and to the total's. With SUMMARY_COLUMNS, each row's ``unique_payers`` too (0
    for a method without a succeeded payment), the methods' from one join of PAYERS_BY_METHOD."""
    keys, groups = ("grouping(method) as is_total, method", "grouping sets ((), (method))") if with_total else (
        "method", "method")
    order = "stats.is_total desc, stats.method" if with_total else "stats.method"
    grouped = f"(select {keys}, {columns} from range_rows group by {groups})"
    if columns is not SUMMARY_COLUMNS:
        return f"(select json_agg(stats order by {order}) from {grouped} as stats)"
    payers, joined = "coalesce(payers.unique_payers, 0)", "payers.method is not distinct from figures.method"
    if with_total:
        payers = f"case when figures.is_total = 1 then {payers_count()} else {payers} end"
        joined = f"figures.is_total = 0 and {joined}"
    return (f"(select json_agg(stats order by {order}) from (select figures.*, {payers} as unique_payers "
            f"from {grouped} as figures left join {PAYERS_BY_METHOD} as payers on {joined}) as stats)")


def by_method_section(columns: str = SUMMARY_COLUMNS) -> str:
    """``columns`` per payment method of the range rows, in method order: a JSON array (see method_figures)."""
    return method_figures(columns, with_total=False)


BY_METHOD = by_method_section()


def summary_and_methods(columns: str = SUMMARY_COLUMNS) -> str:
    """The summary and the per-method figures (``columns``) of the range rows in one pass, where a summary_section
    and a by_method_section scan and aggregate them twice: the total, then the methods (see method_figures).
    :func:`split_stats` parts them."""
    return method_figures(columns, with_total=True)


SUMMARY_AND_METHODS = summary_and_methods()
FAILURE_REASONS = (
    "(select json_agg(reasons order by reasons.failures desc, reasons.failure_reason) from ("
    "select coalesce(failure_reason, '(none)') as failure_reason, count(*) as failures from range_rows "
    "where status = 'failed' group by 1) as reasons)")
RETRIES = (
    "(select to_json(retries) from (select count(*) as invoices, count(*) filter (where attempts > 1) "
    "as invoices_retried, count(*) filter (where had_failure) as invoices_with_failure, "
    "count(*) filter (where had_failure and succeeded) as recovered, "
    "count(*) filter (where had_failure and not succeeded) as unrecovered, avg(attempts) as avg_attempts "
    "from (select invoice_id, count(*) as attempts, bool_or(status = 'failed') as had_failure, "
    "bool_or(is_succeeded) as succeeded from range_rows where invoice_id is not null group by invoice_id) "
    "as invoices) as retries)")
DAILY_LATENCY = (
    "(select json_agg(days order by days.payment_date) from (select payment_date, count(latency_ms) as settled, "
    f"percentile_cont({PERCENTILE_ARRAY}) within group (order by latency_ms) as percentiles_ms "
    "from range_rows group by payment_date) as days)")
DAILY_TOTALS = (
    "(select json_agg(days order by days.payment_date) from (select payment_date, sum(attempts) as attempts, "
    "sum(succeeded) as succeeded, sum(failed) as failed, sum(pending) as pending, sum(revenue) as revenue "
    "from marts.fct_payments_daily where tenant_id = %(tenant)s and payment_date between %(start)s and %(end)s "
    "group by payment_date) as days)")
CURRENCY = "(select to_json(currency) from marts.dim_tenants where tenant_id = %(tenant)s)"


def parse(value: str | None) -> Any:
    """A section's JSON text as Python values, numbers with a fraction as Decimal."""
    return None if value is None else json.loads(value, parse_float=Decimal)


def fetch(ctx: Context, sections: dict[str, str], params: dict[str, Any], rows: bool = True,
          columns: str = RANGE_COLUMNS) -> dict[str, Any]:
    """Run the sections (name → a scalar subquery returning json) as one statement, over the range rows of
    ``params['start']``–``params['end']`` (their ``columns``) when ``rows``; each section's value parsed. A
    ``currency`` section also answers ``ctx.currency`` (no second query)."""
    select = ", ".join(f"({sql})::text as {name}" for name, sql in sections.items())
    sql = f"with {range_rows(columns)} select {select}" if rows else f"select {select}"
    found = {name: parse(value) for name, value in ctx.one(sql, params).items()}
    if "currency" in found:
        ctx.__dict__["currency"] = found["currency"]  # primes the cached_property
    return found


def as_date(value: Any) -> Any:
    """A JSON date (ISO text) as a date, as psycopg2 gives it."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def with_percentiles(row: dict[str, Any], column: str, prefix: str, suffix: str) -> dict[str, Any]:
    """``row`` with the array ``column`` spread into one key per percentile (``{prefix}p50{suffix}`` ...)."""
    values = row.pop(column, None) or [None] * len(PERCENTILES)
    return {**row, **{f"{prefix}{key}{suffix}": value for (key, _), value in zip(PERCENTILES, values, strict=True)}}
