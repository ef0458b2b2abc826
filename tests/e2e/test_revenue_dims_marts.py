"""End to end: revenue by period, plan revenue and the MRR forecast against a pure-Python reading of docs/metrics.md.

The ``pipeline`` fixture (conftest.py) runs the real DAGs on generated data; the
reference figures come from ``expected_revenue_dims.py``, computed from the same
accepted source rows without SQL, and must match the marts row for row.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e import expected_revenue_dims
from tests.e2e.conftest import mismatches, query

pytestmark = pytest.mark.e2e

REVENUE_COLUMNS = (
    "period_end",
    "total_revenue",
    "refund_amount",
    "refund_count",
    "net_revenue",
    "payment_count",
    "payment_success_count",
    "new_revenue",
    "mrr",
    "arr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
)
PLAN_COLUMNS = (
    "plan_name",
    "active_subscriptions",
    "new_subscriptions",
    "canceled_subscriptions",
    "mrr",
    "gross_revenue",
    "renewed_subscriptions",
    "churn_rate",
    "arr",
    "clv",
)
FORECAST_COLUMNS = (
    "months_ahead",
    "base_month",
    "base_mrr",
    "history_months",
    "growth_rate",
    "growth_rate_stddev",
    "forecast_mrr",
    "lower_bound_mrr",
    "upper_bound_mrr",
)


def test_revenue_by_period_every_period_type(pipeline, accepted):
    rows = query("select * from marts.fct_revenue_by_period")
    actual = {
        (r["tenant_id"], r["period_type"], r["period_start"]): {column: r[column] for column in REVENUE_COLUMNS}
        for r in rows
    }
    wanted = expected_revenue_dims.revenue_by_period(accepted, pipeline["as_of"])
    assert set(Counter(key[1] for key in wanted)) == {"day", "week", "month", "quarter", "year"}
    assert any(v["payment_success_count"] > 0 for v in wanted.values()) and any(v["mrr"] > 0 for v in wanted.values())
    # new revenue is decided per period type: some payer pays again within a month, in a later week
    assert any(key[1] == "month" and 0 < value["new_revenue"] < value["total_revenue"] for key, value in wanted.items())
    # MRR moves in every period type, churn included
    for period_type in ("day", "week", "month", "quarter", "year"):
        assert any(key[1] == period_type and value["new_mrr"] > 0 for key, value in wanted.items()), period_type
    assert any(key[1] == "week" and value["churned_mrr"] > 0 for key, value in wanted.items())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_plan_revenue_monthly(pipeline, accepted):
    rows = query("select * from marts.fct_plan_revenue_monthly")
    actual = {
        (r["tenant_id"], r["revenue_month"], r["plan_id"]): {column: r[column] for column in PLAN_COLUMNS} for r in rows
    }
    wanted = expected_revenue_dims.plan_revenue_monthly(accepted, pipeline["as_of"])
    assert any(v["active_subscriptions"] > 0 and v["gross_revenue"] > 0 for v in wanted.values())
    assert any(v["canceled_subscriptions"] > 0 for v in wanted.values())
    assert any(v["renewed_subscriptions"] > 0 for v in wanted.values())
    assert any(v["clv"] is not None and v["clv"] > 0 for v in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)


def test_mrr_forecast(pipeline, accepted):
    rows = query("select * from marts.fct_mrr_forecast")
    actual = {(r["tenant_id"], r["forecast_month"]): {column: r[column] for column in FORECAST_COLUMNS} for r in rows}
    wanted = expected_revenue_dims.mrr_forecast(accepted, pipeline["as_of"])
    assert any(v["history_months"] > 0 for v in wanted.values())
    assert not mismatches(wanted, actual), mismatches(wanted, actual)
