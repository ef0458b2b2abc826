"""``meridian bench --api``: the KPI read API's latency per endpoint and throughput, on the demo warehouse.

Starts ``meridian api`` twice on free ports against the ``warehouse`` connection
(the demo's embedded PostgreSQL unless AIRFLOW_CONN_WAREHOUSE says otherwise),
with rate limits off: once with the response cache (the steady state: one
transform run, many reads) and once with MERIDIAN_API_CACHE=off (every request
answered from the marts). Reports, per endpoint, p50/p95/p99 of single-client
requests over HTTP, then requests/s at N concurrent clients with the cache warm,
and for two figures the time of the same answer computed from the raw layer
(latest version per id, the validation the marts rely on not applied: a lower
bound) divided by the API's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx

from meridian import db
from meridian.config import WAREHOUSE_CONN_ID
from meridian.mailsink import free_port

# one request per endpoint, with the parameters a dashboard sends
BENCH_PATHS = (
    "/kpis/overview", "/kpis/active-users?granularity=daily&range=30d", "/kpis/active-users?granularity=weekly&range=12w",
    "/kpis/retention?period=weekly&cohortCount=8", "/kpis/revenue?timeframe=30d", "/kpis/user-behavior?timeframe=7d",
    "/kpis/funnel?timeframe=30d", "/analytics/dashboard", "/analytics/revenue?periodType=month",
    "/analytics/cohorts?grain=month", "/analytics/tournaments", "/analytics/dashboards/sales",
    "/analytics/dashboards/customer-success", "/analytics/dashboards/revenue", "/analytics/metrics/real-time",
    "/payments/metrics?days=30", "/payments/realtime", "/payments/dashboard?period=week", "/payments/overview",
    "/payments/trends/week", "/payments/peak-times?days=30", "/payments/success-rate?days=30",
    "/payments/failures?days=30", "/payments/latency?days=30", "/payments/payment-methods?days=30",
    "/payments/webhook-metrics?days=30", "/payments/transactions?days=7&limit=100",
    "/payments/transactions?groupBy=method&days=30", "/payments/top-resources", "/payments/revenue?interval=week",
    "/payments/customers?period=month", "/payments/reports/monthly",
)

RAW_PAYMENTS = """
with latest as (
    select distinct on (id) * from raw.billing__payments
    where tenant_id = %(tenant)s and updated_at < %(end)s order by id, updated_at desc, _batch_id desc
)
select count(*), count(*) filter (where status in ('succeeded', 'refunded')), count(*) filter (where status = 'failed'),
    sum(amount_cents) filter (where status in ('succeeded', 'refunded')),
    percentile_cont(array[0.5, 0.95, 0.99]) within group (order by extract(epoch from settled_at - created_at))
        filter (where status in ('succeeded', 'refunded') and settled_at is not null)
from latest where created_at >= %(start)s and created_at < %(end)s
"""
RAW_ACTIVE_USERS = """
with events as (
    select distinct on (id) id, user_id, occurred_at from raw.app__events
    where tenant_id = %(tenant)s and occurred_at >= %(start)s and occurred_at < %(end)s
    order by id, _batch_id desc
), file_events as (
    select distinct record ->> 'id' as id, record ->> 'user_id' as user_id,
        (record ->> 'occurred_at')::timestamptz as occurred_at
    from raw.app__event_files
    where record ->> 'tenant_id' = %(tenant)s and record ->> 'occurred_at' ~ '^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}'
)
select (occurred_at at time zone 'UTC')::date as day, count(distinct user_id)
from (select * from events union all select * from file_events
      where occurred_at >= %(start)s and occurred_at < %(end)s) as all_events
group by 1 order by 1
"""
RAW_FIGURES = (("/payments/metrics?days=30", RAW_PAYMENTS), ("/kpis/active-users?granularity=daily&range=30d",
                                                             RAW_ACTIVE_USERS))


def _start_server(port: int, extra_env: dict[str, str], workers: int) -> subprocess.Popen:
    env = {**os.environ, "MERIDIAN_API_RATE_LIMITS": "off", "AIRFLOW_CONN_WAREHOUSE": db.dsn(WAREHOUSE_CONN_ID),
           **extra_env}
    command = [sys.executable, "-m", "meridian.cli", "api", "--port", str(port), "--log-level", "warning",
               "--no-access-log", "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return server
        except httpx.HTTPError:
            if server.poll() is not None:
                raise RuntimeError(f"meridian api exited: {server.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("meridian api did not start within 60 s")


def stop_group(server: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server started in a session of its own, with its children: SIGTERM to its process group,
    SIGKILL when it has not ended within ``timeout`` seconds."""
    import signal

    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        position = fraction * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return at(0.5), at(0.95), at(0.99)


def _single_client(base: str, key: str, requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for path in BENCH_PATHS:
            response = client.get(f"/api/v1{path}")
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:300]}")
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(f"/api/v1{path}")
                samples.append((time.perf_counter() - started) * 1000)
            timings[path] = samples
    return timings


def _throughput(base: str, key: str, clients: int, seconds: float) -> tuple[int, float, list[float]]:
    done = [0]
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        count, mine = 0, []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            index = offset
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = client.get(f"/api/v1{BENCH_PATHS[index % len(BENCH_PATHS)]}")
                mine.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}")
                count += 1
                index += 1
        with lock:
            done[0] += count
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], time.monotonic() - started, latencies


def _raw_seconds(tenant: str, as_of, sql: str, runs: int = 5) -> float:
    from meridian.runtime import to_instant

    end = to_instant(as_of)
    params = {"tenant": tenant, "start": end - timedelta(days=30), "end": end}
    samples = []
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        for _ in range(runs):
            started = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run_api_bench(*, tenant: str | None, requests: int, clients: int, workers: int = 2, seconds: float = 20.0,
                  say: Callable[[str], None] = print) -> int:
    import logging

    from meridian.serve.api import keys
    from meridian.serve.rls import apply_row_security
    from meridian.warehouse import embedded

    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not os.environ.get("AIRFLOW_CONN_WAREHOUSE"):
        embedded.start()
    with db.connection(WAREHOUSE_CONN_ID) as conn:
        with conn.cursor() as cur:
            cur.execute("select to_regclass('marts.fct_payment_attempts'), to_regclass('audit.transform_runs')")
            if None in cur.fetchone():
                say("the marts are not built: run `make demo` (or meridian demo) first")
                return 1
            cur.execute("select as_of_date from audit.transform_runs where status = 'success' "
                        "order by ended_at desc limit 1")
            as_of = cur.fetchone()[0]
        tenants = keys.known_tenants(conn)
        tenant = tenant or tenants[0]
        apply_row_security(conn)
        new = keys.create_key(conn, tenant, "meridian bench --api")
    say(f"KPI read API on the demo warehouse: tenant {tenant}, as of {as_of}; {requests} requests per endpoint, "
        f"then {clients} concurrent clients for {seconds:.0f} s; uvicorn with {workers} worker(s)")
    results: dict[str, dict[str, list[float]]] = {}
    throughput: dict[str, tuple[int, float, list[float]]] = {}
    try:
        for mode, env in (("cached", {}), ("uncached", {"MERIDIAN_API_CACHE": "off"})):
            port = free_port()
            server = _start_server(port, env, workers)
            try:
                base = f"http://127.0.0.1:{port}"
                results[mode] = _single_client(base, new.key, requests)
                throughput[mode] = _throughput(base, new.key, clients, seconds)
            finally:
                stop_group(server)
    finally:
        with db.connection(WAREHOUSE_CONN_ID) as conn:
            keys.revoke_key(conn, new.key_id)
    say(f"\n{'endpoint':<52} {'cached p50/p95/p99 ms':>24} {'uncached p50/p95/p99 ms':>26}")
    worst = 0.0
    for path in BENCH_PATHS:
        cached = _percentiles(results["cached"][path])
        uncached = _percentiles(results["uncached"][path])
        worst = max(worst, cached[1])
        say(f"{path:<52} {'/'.join(f'{v:.1f}' for v in cached):>24} {'/'.join(f'{v:.1f}' for v in uncached):>26}")
    say(f"\nworst single-client p95 with the cache warm: {worst:.1f} ms (goal ≤ 20 ms)")
    for mode in ("cached", "uncached"):
        count, wall, latencies = throughput[mode]
        p50, p95, p99 = _percentiles(latencies)
        say(f"{clients} clients, {mode}: {count / wall:,.0f} requests/s ({count} in {wall:.1f} s; "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms)")
    say("\nthe same answer computed from raw (median of 5, server + fetch) vs the API (single-client p50):")
    for path, sql in RAW_FIGURES:
        raw = _raw_seconds(tenant, as_of, sql) * 1000
        cached = _percentiles(results["cached"][path])[0]
        uncached = _percentiles(results["uncached"][path])[0]
        say(f"  {path:<48} raw {raw:8.1f} ms; API {cached:.1f} ms cached ({raw / cached:,.0f}x), "
            f"{uncached:.1f} ms uncached ({raw / uncached:,.0f}x)")
    return 0
