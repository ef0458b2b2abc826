"""Dashboard reads over fct_payment_attempts use the marts' read indexes (macros/security/mart_indexes.sql) and answer
what the whole-history queries they replaced answered."""

from __future__ import annotations

import json
from datetime import date

import pytest

from meridian import db
from tests.api.conftest import auth

# the queries as they were before they were rewritten to read the range's payments only: the reference
WHOLE_HISTORY_RENEWED = """
with succeeded as (select subscription_id, coalesce(settled_at, created_at) as paid_at
    from marts.fct_payment_attempts where tenant_id = %(tenant)s and is_succeeded and subscription_id is not null),
firsts as (select subscription_id, min(paid_at) as first_paid_at from succeeded group by subscription_id)
select count(distinct succeeded.subscription_id) from succeeded join firsts using (subscription_id)
where succeeded.paid_at > firsts.first_paid_at and succeeded.paid_at >= %(start)s
and succeeded.paid_at < %(end)s::date + 1
"""
WHOLE_HISTORY_CUSTOMERS = """
with payers as (select user_id, country, min(coalesce(settled_at, created_at)) as first_paid_at,
    bool_or(coalesce(settled_at, created_at) >= %(start)s::date
            and coalesce(settled_at, created_at) < %(end)s::date + 1) as paid_in_period
    from marts.fct_payment_attempts where tenant_id = %(tenant)s and is_succeeded
    and coalesce(settled_at, created_at) < %(end)s::date + 1 group by user_id, country)
select country, count(*) filter (where paid_in_period) as paying,
count(*) filter (where paid_in_period and first_paid_at >= %(start)s::date) as new
from payers group by country order by paying desc, country
"""
INDEXES = ("paid_at", "settled_at", "unsettled", "pending")


def fetch(sql: str, params: dict) -> list[tuple]:
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_the_read_indexes_are_on_the_built_mart(api_world):
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select pg_class.relname from pg_index join pg_class on pg_class.oid = pg_index.indexrelid "
                    "where pg_index.indrelid = 'marts.fct_payment_attempts'::regclass")
        names = {row[0] for row in cur.fetchall()}
        cur.execute("select 'marts.fct_payment_attempts'::regclass::oid")
        oid = cur.fetchone()[0]
    assert {f"fct_payment_attempts__{name}__{oid}" for name in INDEXES} <= names


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_renewed_subscriptions_as_the_whole_history_query(client, api_world, tenant):
    found = []
    for timeframe in ("7d", "30d", "90d", "12m"):
        response = client.get(f"/api/v1/kpis/revenue?timeframe={timeframe}", headers=auth(api_world["keys"][tenant]))
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        span = {"tenant": tenant, "start": date.fromisoformat(data["range"]["from"]),
                "end": date.fromisoformat(data["range"]["to"])}
        expected = fetch(WHOLE_HISTORY_RENEWED, span)[0][0]
        assert data["renewed_subscriptions"] == expected, timeframe
        found.append(expected)
    assert any(found), "the data has renewals to compare"


@pytest.mark.parametrize("tenant", ["acme", "globex"])
@pytest.mark.parametrize("period", ["today", "week", "month"])
def test_customers_as_the_whole_history_query(client, api_world, tenant, period):
    response = client.get(f"/api/v1/payments/customers?period={period}", headers=auth(api_world["keys"][tenant]))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    span = data["range"]
    rows = fetch(WHOLE_HISTORY_CUSTOMERS, {"tenant": tenant, "start": span["from"], "end": span["to"]})
    expected = [{"country": country, "paying_customers": paying, "new_customers": new,
                 "returning_customers": paying - new} for country, paying, new in rows if paying]
    assert data["by_country"] == expected
    assert data["paying_customers"] == sum(row[1] for row in rows)
    assert data["new_customers"] == sum(row[2] for row in rows)


@pytest.mark.parametrize(("path", "needle"), [
    ("/kpis/revenue?timeframe=30d", "subscription_first_paid_at"),
    ("/payments/customers?period=month", "payer_first_paid_at"),
    ("/payments/realtime", "status = 'pending'"),
    # /analytics/dashboards/revenue reads revenue by country from fct_revenue_by_country_monthly (its primary key
    # leads with tenant and month), no longer from the payment rows
])
def test_payment_reads_can_use_the_read_indexes(api_world, path, needle):
    """With sequential scans priced out, each statement's plan reads fct_payment_attempts through an index only
    (the test data is small enough that the planner may prefer a scan otherwise)."""
    from meridian.devtools.bench_dashboard import capture_statements
    from meridian.serve import rls

    statements = [s for s in capture_statements(api_world["keys"]["acme"], (path,)) if needle in s.sql]
    assert statements, f"{path} runs no statement containing {needle!r}"
    with db.connection("warehouse") as conn:
        for statement in statements:
            with rls.tenant_scope(conn, "acme") as cur:
                cur.execute("set local enable_seqscan = off")
                cur.execute("explain (format json) " + statement.sql, statement.params)
                plan = json.dumps(cur.fetchone()[0])
            assert '"Seq Scan"' not in plan, (path, statement.sql)
            assert "fct_payment_attempts__" in plan, (path, statement.sql)
