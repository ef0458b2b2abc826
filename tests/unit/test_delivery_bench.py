"""The delivery bench on a handful of tenants: copies of one tenant's marts, every report sent and received."""

from __future__ import annotations

import pytest

from meridian import db
from meridian.devtools.bench_delivery import bench_delivery
from tests.conftest import private_warehouse
from tests.unit.test_delivery import create_marts


def test_bench_copies_one_tenant_to_many_and_delivers_every_report():
    with private_warehouse("meridian-delivery-bench-test-"):
        with pytest.raises(RuntimeError, match="build the marts first"):
            bench_delivery(2, quiet=True)
        with db.connection("warehouse") as conn, conn.cursor() as cur:
            create_marts(conn)
            cur.execute("create table marts.fct_daily_kpis (tenant_id text, kpi_date date)")
            cur.execute(
                "insert into marts.fct_daily_kpis select 'globex', d::date "
                "from generate_series('2024-03-01'::date, '2024-03-31', '1 day') as d"
            )
        figures = bench_delivery(3, quiet=True)
        with db.connection("warehouse") as conn, conn.cursor() as cur:  # the source warehouse is only read
            cur.execute("select count(*) from marts.fct_monthly_revenue where tenant_id like 'globex-%'")
            assert cur.fetchone()[0] == 0
            cur.execute("select to_regclass('reporting.scheduled_reports') is null")
            assert cur.fetchone()[0]
    assert figures["template_tenant"] == "globex"
    assert figures["period"] == "March 2024" and figures["due"] == "2024-04-01T00:00:00+00:00"
    assert figures["statuses"] == {"sent": 3} and figures["messages_received"] == 3
    assert figures["mart_rows_copied"] == 3 * (6 + 6 + 31)  # revenue months, movements, kpi days
    assert figures["seconds"] > 0 and figures["under_five_minutes"]

