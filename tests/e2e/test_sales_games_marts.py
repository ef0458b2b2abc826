"""End to end: the sales, customer-health and tournament marts against a pure-Python reading of docs/metrics.md.

The ``pipeline`` fixture (conftest.py) runs extract + transform for an earlier day and
then the last generated day. ``expected_sales_games`` computes every metric again from
the accepted source rows, without SQL; the marts must match it row for row. The customer
snapshot is captured by both runs, so the health mart also checks the snapshot's
validity ranges, and rerunning the snapshot at the earlier date must change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from meridian.airflow_env import run_dbt
from tests.e2e import expected
from tests.e2e import expected_sales_games as reference
from tests.e2e.conftest import mismatches, query

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def accepted(pipeline):
    return expected.accepted_rows(
        pipeline["sources"], pipeline["file_lines"], pipeline["as_of"], files_loaded_whole=True
    )


def _actual(sql: str, keys: tuple[str, ...], columns: list[str]) -> dict[tuple, dict[str, Any]]:
    return {tuple(row[k] for k in keys): {c: row[c] for c in columns} for row in query(sql)}


def _compare(wanted: dict, table: str, keys: tuple[str, ...]) -> None:
    columns = sorted({column for values in wanted.values() for column in values})
    actual = _actual(f"select * from marts.{table}", keys, columns)
    diffs = mismatches(wanted, actual)
    assert not diffs, diffs


def test_sales_monthly(pipeline, accepted):
    wanted = reference.sales_monthly(accepted, pipeline["as_of"])
    assert sum(v["leads_created"] for v in wanted.values()) > 0
    assert sum(v["proposals_created"] for v in wanted.values()) > 0
    _compare(wanted, "fct_sales_monthly", ("tenant_id", "sales_month"))


def test_sales_rep_monthly(pipeline, accepted):
    wanted = reference.sales_rep_monthly(accepted, pipeline["as_of"])
    assert any(v["deals_closed"] > 0 for v in wanted.values())
    _compare(wanted, "fct_sales_rep_monthly", ("tenant_id", "sales_month", "rep_id"))


def test_sales_rep_deals_add_up_to_the_tenant_month(pipeline):
    rows = query(
        "select s.tenant_id, s.sales_month, s.proposals_won, s.proposals_lost, "
        "coalesce(sum(r.deals_closed), 0) as closed, coalesce(sum(r.deals_lost), 0) as lost "
        "from marts.fct_sales_monthly as s left join marts.fct_sales_rep_monthly as r "
        "on s.tenant_id = r.tenant_id and s.sales_month = r.sales_month "
        "group by s.tenant_id, s.sales_month, s.proposals_won, s.proposals_lost"
    )
    broken = [r for r in rows if (r["closed"], r["lost"]) != (r["proposals_won"], r["proposals_lost"])]
    assert rows and not broken, broken[:5]


def test_tournaments_by_period(pipeline, accepted):
    wanted = reference.tournaments_by_period(accepted, pipeline["as_of"])
    assert {key[1] for key in wanted} == set(reference.PERIOD_TYPES)
    assert any(v["completed_count"] > 0 for v in wanted.values())
    _compare(wanted, "fct_tournaments_by_period", ("tenant_id", "period_type", "period_start"))


def test_customer_health_daily(pipeline, accepted):
    wanted = reference.customer_health_daily(accepted, pipeline["as_of"])
    assert any(v["total_customers"] > 0 for v in wanted.values())
    _compare(wanted, "fct_customer_health_daily", ("tenant_id", "as_of_date"))


def test_snapshot_rerun_at_the_earlier_date_changes_nothing(pipeline):
    """Staging at an older as-of date shows older (or no) versions: the snapshot must keep every row."""
    sql = "select * from snapshots.snp_crm__customers order by id, dbt_valid_from"
    before = query(sql)
    assert before
    customers = "base_crm__customers stg_crm__customers snp_crm__customers"
    try:
        result = run_dbt(
            [
                "build",
                "--select",
                *customers.split(),
                "--exclude",
                "test_type:unit",
                "--vars",
                f"{{as_of_date: '{pipeline['earlier']}'}}",
            ],
            env=pipeline["env"],
            check=False,
        )
        assert result.returncode == 0, "dbt build at the earlier date failed; see the output above"
        assert query(sql) == before
    finally:  # staging back to the last as-of date for the tests that follow
        run_dbt(
            [
                "run",
                "--select",
                "base_crm__customers",
                "stg_crm__customers",
                "--vars",
                f"{{as_of_date: '{pipeline['as_of']}'}}",
            ],
            env=pipeline["env"],
            check=False,
        )
