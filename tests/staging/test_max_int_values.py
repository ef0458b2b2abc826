"""Every value a source int column allows builds the whole project (issue 16, point 6).

Max-int values land in every int column of every source table; one ``dbt build``
(seeds, snapshot, every model and data test) must pass, each value counted exactly
in the marts or its row quarantined as ``out_of_range`` in staging, and nowhere else.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg2.extras
import pytest

from meridian import db
from tests.staging.landing import dbt, land
from tests.staging.maxint_rows import AS_OF, EDGE_QUANTITY, MAX_INT, max_int_batches


def money(cents: int | Decimal) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def query(sql: str, params: tuple = ()) -> list[dict]:
    with db.connection("warehouse") as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        return [dict(row) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def built(staging_warehouse: Path) -> list:
    batches = max_int_batches()
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        for batch in batches:
            land(cur, batch)
    dbt(["build", "--exclude", "test_type:unit"], AS_OF, staging_warehouse / "dbt")
    return batches


def test_only_values_no_mart_can_hold_are_quarantined_as_out_of_range(built):
    rows = query("select table_name, record->>'id' as id, reasons from audit.quarantine order by 1, 2")
    assert [(row["table_name"], row["id"], row["reasons"]) for row in rows] == [
        ("customers", "cust_max", ["out_of_range"]),  # health_score outside 0-100
        ("leads", "lead_max", ["out_of_range"]),  # score outside 0-100
        ("subscription_events", "se_both", ["out_of_range"]),  # MAX_INT x MAX_INT cents a month
        ("subscription_events", "se_edge_over", ["out_of_range"]),  # ARR one quantity past the money type
        ("subscription_events", "se_year_both", ["out_of_range"]),
    ]


def test_every_batch_adds_up(built):
    outcomes = {row["batch_id"]: row for row in query("select * from audit.batch_outcomes")}
    assert set(outcomes) == {batch.batch_id for batch in built}
    for batch in built:
        outcome = outcomes[batch.batch_id]
        assert outcome["landed"] == len(batch.rows)
        assert outcome["landed"] == outcome["accepted"] + outcome["quarantined"] + outcome["duplicates"], outcome


def test_subscription_mrr_is_exact_up_to_the_money_type(built):
    months = {
        row["tenant_id"]: row
        for row in query("select * from marts.fct_monthly_revenue where revenue_month = '2026-10-01'")
    }
    # 2,000,000,000 x 1 cent + MAX_INT x 1 cent + 1 x MAX_INT cents + a yearly plan of MAX_INT x 12 / 12
    max_mrr_cents = 2_000_000_000 + MAX_INT + MAX_INT + MAX_INT
    assert months["max"]["ending_mrr"] == money(max_mrr_cents)
    assert months["max"]["arr"] == money(max_mrr_cents) * 12
    edge_mrr_cents = EDGE_QUANTITY * MAX_INT
    assert months["edge"]["ending_mrr"] == money(edge_mrr_cents) == Decimal("83322365503.60")
    assert months["edge"]["arr"] == money(edge_mrr_cents) * 12 <= Decimal("999999999999.99")


def test_max_int_payments_refunds_and_fees_are_counted_exactly(built):
    month = query("select * from marts.fct_monthly_revenue where tenant_id = 'max' and revenue_month = '2026-10-01'")[0]
    assert (month["gross_revenue"], month["refunds"], month["net_revenue"]) == (
        money(2 * MAX_INT), money(MAX_INT), money(MAX_INT))
    days = query(
        "select payment_date, attempts, succeeded, revenue from marts.fct_payments_daily"
        " where tenant_id = 'max' and attempts > 0 order by payment_date"
    )
    assert [(str(d["payment_date"]), d["attempts"], d["succeeded"], d["revenue"]) for d in days] == [
        ("2026-10-15", 2, 1, money(MAX_INT)), ("2026-10-16", 1, 1, money(MAX_INT))]
    tournaments = query(
        "select total_players, revenue from marts.fct_tournaments_by_period"
        " where period_type = 'month' and tournament_count > 0"
    )
    assert tournaments == [{"total_players": 2, "revenue": money(2 * MAX_INT)}]
    sales = query("select * from marts.fct_sales_monthly where tenant_id = 'max' and sales_month = '2026-10-01'")[0]
    assert sales["avg_deal_size"] == money(MAX_INT)
    assert sales["pipeline_value"] == money(MAX_INT)
    assert sales["weighted_pipeline"] == money(Decimal(MAX_INT) / 2)


def test_max_int_counts_and_latencies_are_exact(built):
    webhooks = query("select avg_attempts, avg_response_ms, p95_response_ms from marts.fct_webhook_deliveries_daily"
                     " where deliveries > 0")
    assert webhooks == [{"avg_attempts": Decimal(MAX_INT), "avg_response_ms": Decimal(MAX_INT),
                         "p95_response_ms": Decimal(MAX_INT)}]
    attempts = query("select attempt_number from staging.stg_billing__payments order by id")
    assert sorted(row["attempt_number"] for row in attempts) == [1, MAX_INT, MAX_INT]
    placements = query("select placement from staging.stg_games__tournament_entries")
    assert [row["placement"] for row in placements] == [MAX_INT, MAX_INT]
