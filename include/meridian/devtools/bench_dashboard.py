"""Dashboard reads for ``meridian bench --json``: the KPI read API's dashboard endpoints and the SQL behind them,
uncached, on the warehouse the bench just built.

Two figures:

* **HTTP**: ``meridian api`` with MERIDIAN_API_CACHE=off (every request answered from the marts), one client,
  ``requests`` requests to each endpoint of :data:`meridian.devtools.bench_api.BENCH_PATHS`; the p95 over all of
  them (pooled) and the worst endpoint's own p95.
* **BI queries**: every statement those endpoints run, captured in-process, replayed as the tenant's API role
  under row-level security (what a BI login of the tenant runs against the marts), ``requests`` times each; the
  p95 over all of them, and the statements whose plan still reads a large relation with a sequential scan.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID

# a sequential scan over a relation with more rows than this is worth an index
LARGE_RELATION_ROWS = 50_000


@dataclass
class Statement:
    path: str
    tenant: str
    sql: str
    params: dict[str, Any]


@dataclass
class DashboardFigures:
    http_p95_ms: float
    http_worst_endpoint: str
    http_worst_endpoint_p95_ms: float
    bi_p95_ms: float
    statements: int
    seq_scans: list[dict[str, Any]] = field(default_factory=list)
    reads: dict[str, dict[str, int]] = field(default_factory=dict)  # path -> statements, rows and buffers read

    @property
    def p95_ms(self) -> float:
        """The dashboard figure: the slower of the two p95s (the API's and the BI queries')."""
        return max(self.http_p95_ms, self.bi_p95_ms)

    def as_dict(self) -> dict[str, Any]:
        return {"dashboard_http_p95_ms": round(self.http_p95_ms, 2),
                "dashboard_worst_endpoint": self.http_worst_endpoint,
                "dashboard_worst_endpoint_p95_ms": round(self.http_worst_endpoint_p95_ms, 2),
                "bi_query_p95_ms": round(self.bi_p95_ms, 2), "bi_statements": self.statements,
                "bi_large_seq_scans": self.seq_scans, "bi_reads": self.reads}


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), of a non-empty list."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@contextmanager
def recording(into: list[Statement], path: list[str]) -> Iterator[None]:
    """While active, every query an endpoint handler runs through ``Context.rows`` is appended to ``into``."""
    from meridian.serve.api.endpoint import Context

    original = Context.rows

    def rows(self: Context, sql: str, params: dict | None = None) -> list[dict]:
        into.append(Statement(path[0], self.tenant_id, sql,
                              {"tenant": self.tenant_id, "as_of": self.as_of, **(params or {})}))
        return original(self, sql, params)

    Context.rows = rows  # type: ignore[method-assign]
    try:
        yield
    finally:
        Context.rows = original  # type: ignore[method-assign]


def capture_statements(key: str, paths: tuple[str, ...]) -> list[Statement]:
    """The statements each endpoint runs for one request, from an in-process API with the cache off."""
    from fastapi.testclient import TestClient

    from meridian.config import api_settings
    from meridian.serve.api import create_app
    from meridian.serve.api.service import ApiService

    settings = api_settings()
    settings = type(settings)(**{**settings.__dict__, "cache": False,
                                 "rate_limits": {group: 0 for group in settings.rate_limits}})
    service = ApiService(settings, db.dsn(WAREHOUSE_CONN_ID))
    captured: list[Statement] = []
    current = [""]
    try:
        with TestClient(create_app(service)) as client, recording(captured, current):
            for path in paths:
                current[0] = path
                response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"})
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:300]}")
    finally:
        service.pool.close()
    return captured


def _large_seq_scans(plan: dict, sizes: dict[str, float]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan":
        name = f"{plan.get('Schema')}.{plan.get('Relation Name')}"
        if sizes.get(name, 0) > LARGE_RELATION_ROWS:
            found.append(name)
    for child in plan.get("Plans", []):
        found.extend(_large_seq_scans(child, sizes))
    return found


def replay(statements: list[Statement], runs: int,
           reads: dict[str, dict[str, int]] | None = None) -> tuple[list[float], list[dict[str, Any]]]:
    """Each statement ``runs`` times as its tenant's API role: the milliseconds of every execution (server and
    fetch), and the statements whose plan reads a relation of over LARGE_RELATION_ROWS rows sequentially.
    ``reads`` (when given) gets per path the statements, the rows they read from the marts and the shared buffers
    (meridian.serve.read_cost: counts that do not depend on the machine's load)."""
    from meridian.serve import rls
    from meridian.serve.read_cost import explain_reads

    samples: list[float] = []
    scans: list[dict[str, Any]] = []
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        with conn.cursor() as cur:
            cur.execute("select n.nspname || '.' || c.relname, c.reltuples from pg_class c "
                        "join pg_namespace n on n.oid = c.relnamespace "
                        "where n.nspname in ('raw', 'staging', 'intermediate', 'marts') and c.relkind in ('r', 'm')")
            sizes = {name: float(rows) for name, rows in cur.fetchall()}
        conn.commit()
        for statement in statements:
            with rls.tenant_scope(conn, statement.tenant) as cur:
                cur.execute("explain (format json) " + statement.sql, statement.params)
                tables = _large_seq_scans(cur.fetchone()[0][0]["Plan"], sizes)
                if tables:
                    scans.append({"path": statement.path, "tables": sorted(set(tables)),
                                  "sql": " ".join(statement.sql.split())[:200]})
                if reads is not None:
                    read = explain_reads(cur, statement.sql, statement.params)
                    total = reads.setdefault(statement.path, {"statements": 0, "rows": 0, "shared_blocks": 0})
                    total["statements"] += 1
                    total["rows"] += read.total_rows
                    total["shared_blocks"] += read.shared_blocks
                for _ in range(runs):
                    started = time.perf_counter()
                    cur.execute(statement.sql, statement.params)
                    cur.fetchall()
                    samples.append((time.perf_counter() - started) * 1000)
    return samples, scans


def measure_dashboard(requests: int = 20, tenant: str | None = None, say=print) -> DashboardFigures:
    """Both figures on the warehouse as it is (the marts built, row security applied by the build)."""
    from meridian.devtools.bench_api import BENCH_PATHS, _single_client, _start_server, stop_group
    from meridian.mailsink import free_port
    from meridian.serve.api import keys
    from meridian.serve.rls import apply_row_security

    with db.connection(WAREHOUSE_CONN_ID) as conn:
        tenant = tenant or keys.known_tenants(conn)[0]
        apply_row_security(conn)
        new = keys.create_key(conn, tenant, "meridian bench --json")
    try:
        say(f"    API, cache off: {len(BENCH_PATHS)} endpoints x {requests} requests (tenant {tenant}) ...")
        port = free_port()
        server = _start_server(port, {"MERIDIAN_API_CACHE": "off"}, 1)
        try:
            timings = _single_client(f"http://127.0.0.1:{port}", new.key, requests)
        finally:
            stop_group(server)
        pooled = [sample for samples in timings.values() for sample in samples]
        per_endpoint = {path: percentile(samples, 0.95) for path, samples in timings.items()}
        worst = max(per_endpoint, key=per_endpoint.__getitem__)
        say("    the same endpoints' SQL replayed as the tenant under row-level security ...")
        statements = capture_statements(new.key, BENCH_PATHS)
        reads: dict[str, dict[str, int]] = {}
        samples, scans = replay(statements, requests, reads)
    finally:
        with db.connection(WAREHOUSE_CONN_ID) as conn:
            keys.revoke_key(conn, new.key_id)
    figures = DashboardFigures(percentile(pooled, 0.95), worst, per_endpoint[worst], percentile(samples, 0.95),
                               len(statements), scans, reads)
    say(f"    API p95 {figures.http_p95_ms:.1f} ms (worst endpoint {worst}: p95 {per_endpoint[worst]:.1f} ms, "
        f"median of all {statistics.median(pooled):.1f} ms); BI queries p95 {figures.bi_p95_ms:.1f} ms over "
        f"{len(statements)} statements")
    for scan in scans:
        say(f"    sequential scan of {', '.join(scan['tables'])} by {scan['path']}: {scan['sql']}")
    return figures
