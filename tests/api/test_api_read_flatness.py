"""Dashboard reads are flat in the history: a request reads the rows of its range, not the tenant's past.

Every statement the dashboard endpoints run (captured in-process, as ``meridian bench`` does) is executed under
``EXPLAIN (ANALYZE, BUFFERS)`` as the tenant's API role, under row-level security, twice in one transaction: after
every mart that accumulates history got COPIES - 1 copies of the tenant's rows, each a century earlier than the
one before (the same rows again, every date and instant shifted back, ids of payments and transactions suffixed;
none of them in any range a request asks for), and again after as many more. Each mart is analyzed after the
copies, so the planner sees marts where a month is a small part of the history, as at 10 M events. The rows each
statement reads from each mart must be the same both times: a statement that reads more after the second
copies scans history its answer does not need. Sequential scans are priced out (the test marts are small enough
for the planner to prefer them otherwise), so a statement with no usable index still shows as a sequential scan
and fails. The transaction is rolled back and the marts analyzed again: the warehouse is as it was.
"""

from __future__ import annotations

import pytest

from meridian import db
from meridian.devtools.bench_api import BENCH_PATHS
from meridian.serve.read_cost import Reads, explain_reads

TENANT = "acme"
SHIFT = "100 years"
# copies of the history: enough for the planner to see marts where a month is a small part of the history (as it
# is at 10 M events), so it picks the range reads it would pick there
COPIES = 24
# the marts whose rows accumulate as days pass (a row per tenant and day, hour, week, month, payment, cohort...);
# the others hold the present state (dim_tenants, fct_mrr_forecast, fct_cohort_benchmarks, ...) and get no copy
HISTORY_MARTS = (
    "fct_daily_kpis", "fct_hourly_activity", "fct_active_users_by_period", "fct_retention_cohorts",
    "fct_event_counts_daily", "fct_funnel_steps", "fct_kpi_trends", "fct_monthly_revenue", "fct_plan_revenue_monthly",
    "fct_revenue_by_period", "fct_revenue_by_country_monthly", "fct_acquisition_monthly", "fct_tournaments_by_period",
    "fct_sales_monthly", "fct_sales_rep_monthly", "fct_customer_health_daily", "fct_payment_attempts",
    "fct_payments_daily", "fct_payments_hourly", "fct_webhook_deliveries_daily", "fct_accounting_transactions",
    "fct_resource_revenue_monthly", "fct_payment_retries_monthly",
)
# the endpoints a dashboard calls (the bench's), and the other parameters that choose another access path
PATHS = BENCH_PATHS + (
    "/kpis/active-users?granularity=hourly&range=72h", "/kpis/active-users?granularity=monthly&range=6m",
    "/kpis/active-users?granularity=quarterly&range=4q", "/kpis/retention?period=monthly&cohortCount=3",
    "/kpis/revenue?timeframe=12m", "/kpis/user-behavior?timeframe=30d&eventType=app_open",
    "/analytics/revenue?periodType=week&from=2026-08-01&to=2026-10-31",
    "/analytics/cohorts?grain=week&from=2026-08-01&to=2026-10-31",
    "/analytics/tournaments?periodType=week&from=2026-08-01&to=2026-10-31", "/payments/dashboard?period=month",
    "/payments/trends/month", "/payments/transactions?groupBy=country&days=90",
)


def _copy_history(cur, mart: str, copies: range) -> int:
    """Insert the tenant's rows of ``mart`` (as built) again once per number n in ``copies``, every date and
    timestamp column n times SHIFT earlier; the rows added."""
    cur.execute("select column_name, data_type from information_schema.columns where table_schema = 'marts' "
                "and table_name = %s order by ordinal_position", (mart,))
    columns = cur.fetchall()
    assert columns, f"marts.{mart} is not built in the test warehouse"
    cur.execute("select attname from pg_index join pg_attribute on attrelid = indrelid and attnum = any(indkey) "
                "where indrelid = %s::regclass and indisprimary", (f"marts.{mart}",))
    key = {row[0] for row in cur.fetchall()}
    dated = [name for name, data_type in columns if data_type == "date" or data_type.startswith("timestamp")]
    # a key without a date or instant (a payment id, a transaction id) gets the copies their own ids: the key's and
    # every other object id of the row (payment, refund, invoice...; the user stays), so a copy is a valid row of
    # the mart (fct_accounting_transactions' row invariant, a check constraint: transaction_id = 'ch_' || payment_id)
    renamed = set() if key & set(dated) else {
        name for name, data_type in columns
        if (name in key or name.endswith("_id")) and name not in ("tenant_id", "user_id")
        and data_type in ("text", "character varying")}
    select = []
    for name, data_type in columns:
        if name in renamed:
            select.append(f"\"{name}\" || '~' || copy")
        elif name in dated:
            cast = "::date" if data_type == "date" else ""
            select.append(f'("{name}" - copy * interval %(shift)s){cast}')
        else:
            select.append(f'"{name}"')
    # the rows as built, not earlier copies: those are more than a century old
    built = " and ".join(f"(\"{name}\" is null or \"{name}\" > date '1950-01-01')" for name in dated) or "true"
    names = ", ".join(f'"{name}"' for name, _ in columns)
    cur.execute(f"insert into marts.{mart} ({names}) select {', '.join(select)} from marts.{mart} "
                f"cross join generate_series(%(first)s, %(last)s) as copy where tenant_id = %(tenant)s and {built}",
                {"shift": SHIFT, "tenant": TENANT, "first": copies.start, "last": copies.stop - 1})
    return cur.rowcount


def _measure(conn, statements, copies: range) -> list[Reads]:
    """Each statement's reads after the copies of the tenant's history in ``copies`` were added and every mart
    analyzed (the planner sees the grown marts, as it would a long history)."""
    from meridian.serve import rls

    with conn.cursor() as cur:
        added = {mart: _copy_history(cur, mart, copies) for mart in HISTORY_MARTS}
        empty = [mart for mart, rows in added.items() if not rows]
        assert not empty, f"the test data has no {TENANT} rows in {empty}: nothing to compare"
        for mart in HISTORY_MARTS:
            cur.execute(f"analyze marts.{mart}")
        assert rls._set_api_role(cur, TENANT), f"{TENANT} has no API role"
        cur.execute("set local enable_seqscan = off")
        try:
            return [explain_reads(cur, statement.sql, statement.params) for statement in statements]
        finally:
            cur.execute("reset role")
            cur.execute("reset enable_seqscan")


@pytest.fixture(scope="module")
def measured(api_world):
    """Reads with the history COPIES times over, then twice that; rolled back, the marts analyzed again after."""
    from meridian.devtools.bench_dashboard import capture_statements

    statements = capture_statements(api_world["keys"][TENANT], PATHS)
    with db.connection("warehouse") as conn:
        conn.autocommit = False
        try:
            before = _measure(conn, statements, range(1, COPIES))
            after = _measure(conn, statements, range(COPIES, 2 * COPIES))
        finally:
            conn.rollback()
            conn.autocommit = True
            with conn.cursor() as cur:
                for mart in HISTORY_MARTS:
                    cur.execute(f"analyze marts.{mart}")
    return list(zip(statements, before, after, strict=True))


def test_every_endpoint_was_measured(measured):
    assert {statement.path for statement, _, _ in measured} == set(PATHS)
    assert all(reads.rows for _, reads, _ in measured), "a statement read no mart"


def test_no_statement_scans_a_mart_sequentially(measured):
    scans = [(statement.path, sorted(set(after.seq_scans)), " ".join(statement.sql.split())[:160])
             for statement, _, after in measured if after.seq_scans]
    assert not scans, scans


def test_twice_the_history_reads_the_same_rows(measured):
    grown = []
    for statement, before, after in measured:
        if after.rows != before.rows:
            grown.append({"path": statement.path, "before": before.rows, "after": after.rows,
                          "sql": " ".join(statement.sql.split())[:200]})
    assert not grown, grown
