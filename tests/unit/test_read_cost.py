"""meridian.serve.read_cost: the rows a plan's scans read (returned and removed, times loops), per relation."""

from __future__ import annotations

from meridian.serve.read_cost import plan_reads

PLAN = [{
    "Plan": {
        "Node Type": "Nested Loop", "Shared Hit Blocks": 40, "Shared Read Blocks": 2, "Actual Rows": 6, "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "fct_daily_kpis", "Schema": "marts", "Actual Rows": 2.0,
             "Actual Loops": 3, "Rows Removed by Filter": 1.0},
            {"Node Type": "Bitmap Heap Scan", "Relation Name": "fct_payment_attempts", "Actual Rows": 5.0,
             "Actual Loops": 1, "Rows Removed by Index Recheck": 4.0, "Plans": [
                 {"Node Type": "Bitmap Index Scan", "Index Name": "fct_payment_attempts__settled_at__1",
                  "Actual Rows": 9.0, "Actual Loops": 1}]},
            {"Node Type": "Seq Scan", "Relation Name": "dim_tenants", "Actual Rows": 1.0, "Actual Loops": 1,
             "Rows Removed by Filter": 2.0},
            {"Node Type": "CTE Scan", "Actual Rows": 50.0, "Actual Loops": 1},
        ]},
    "Execution Time": 0.5,
}]


def test_rows_read_per_relation():
    reads = plan_reads(PLAN)
    assert reads.rows == {"marts.fct_daily_kpis": 9, "fct_payment_attempts": 9, "dim_tenants": 3}
    assert reads.total_rows == 21
    assert reads.shared_blocks == 42
    assert reads.seq_scans == ["dim_tenants"]
    assert reads.milliseconds == 0.5


def test_the_json_text_reads_the_same():
    import json

    assert plan_reads(json.dumps(PLAN)).as_dict() == plan_reads(PLAN).as_dict()
