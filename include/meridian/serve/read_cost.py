"""What a dashboard statement reads, from its executed plan: rows per relation, shared buffers, sequential scans.

``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` of a statement, run where the caller's cursor is (the KPI API's
statements under the tenant's row-level security, :func:`meridian.serve.rls.tenant_scope`). The rows a scan
*reads* are the rows it returned plus those its filter or a bitmap recheck removed, times its loops: a range
read through an index that leads with ``tenant_id`` and the period reads the range's rows, a scan of the
tenant's whole history reads every row of it, whatever the statement returns. These counts do not depend on
the machine's load, so they compare two warehouse sizes (``meridian bench``) or a mart before and after more
history is added (tests/api/test_api_read_flatness.py) exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# the nodes that read a relation's rows (a Bitmap Index Scan's rows are read by its Bitmap Heap Scan)
SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan", "Tid Range Scan")


@dataclass
class Reads:
    rows: dict[str, int] = field(default_factory=dict)  # relation (schema.relation under VERBOSE) -> rows read
    shared_blocks: int = 0  # shared buffers hit or read by the whole statement
    seq_scans: list[str] = field(default_factory=list)  # relations read by a sequential scan
    milliseconds: float = 0.0  # the server's execution time

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {"rows": dict(sorted(self.rows.items())), "total_rows": self.total_rows,
                "shared_blocks": self.shared_blocks, "seq_scans": sorted(set(self.seq_scans)),
                "ms": round(self.milliseconds, 3)}


def _walk(node: dict, reads: Reads) -> None:
    if node.get("Node Type") in SCANS and "Relation Name" in node:
        name = f"{node['Schema']}.{node['Relation Name']}" if "Schema" in node else node["Relation Name"]
        loops = node.get("Actual Loops", 1) or 0
        per_loop = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                    + node.get("Rows Removed by Index Recheck", 0))
        reads.rows[name] = reads.rows.get(name, 0) + round(per_loop * loops)
        if node["Node Type"] == "Seq Scan":
            reads.seq_scans.append(name)
    for child in node.get("Plans", []):
        _walk(child, reads)


def plan_reads(explained: list[dict] | dict | str) -> Reads:
    """The reads of one ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` result (as psycopg2 returns it, or its text)."""
    if isinstance(explained, str):
        explained = json.loads(explained)
    top = explained[0] if isinstance(explained, list) else explained
    plan = top["Plan"]
    reads = Reads(shared_blocks=plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0),
                  milliseconds=top.get("Execution Time", 0.0))
    _walk(plan, reads)
    return reads


def explain_reads(cur: Any, sql: str, params: dict[str, Any] | None = None) -> Reads:
    """Run ``sql`` once under EXPLAIN (ANALYZE, BUFFERS) on ``cur`` and return what it read."""
    cur.execute("explain (analyze, buffers, format json) " + sql, params)
    row = cur.fetchone()
    return plan_reads(row[0] if not isinstance(row, dict) else next(iter(row.values())))
