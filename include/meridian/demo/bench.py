"""``meridian bench``: the pipeline's figures at the demo size, from one run.

Prints: extract throughput (raw rows landed per second of the extract_sources
DAG run), seconds of a bare ``dbt build``, seconds of each DAG of the chain
and of the whole chain, and the ratio of the chain to the bare dbt build.
Generation is set-up and is not counted.
"""

from __future__ import annotations

import time

from meridian.airflow_env import airflow_env, run_airflow, run_dbt
from meridian.config import settings
from meridian.demo.pipeline import (
    DAG_CHAIN,
    batch_totals,
    ensure_manifest,
    reset_warehouse,
    restore_archived_files,
    run_full_chain,
)
from meridian.warehouse import embedded


def run_bench(*, seed: int, tenants: int, users: int, days: int) -> int:
    from meridian.demo.generate import generate

    cfg = settings()
    embedded.start()
    print(f"set-up: generating {tenants} tenants, {users:,} users, {days} days (not timed)", flush=True)
    summary = generate(seed=seed, tenants=tenants, users=users, days=days, progress=False)
    as_of = summary.end_date
    source_rows = sum(summary.row_counts.values())
    env = airflow_env()
    log_dir = cfg.state_dir / "logs" / "bench"
    reset_warehouse()
    ensure_manifest(env)
    run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")

    timings = run_full_chain(as_of, env, log_dir)
    landed = batch_totals()[0]

    print("bare dbt build (same data, same as-of date) ...", flush=True)
    started = time.monotonic()
    run_dbt(["build", "--quiet", "--vars", f"{{as_of_date: '{as_of}'}}"], env=env)
    dbt_seconds = time.monotonic() - started

    print("\nfigures (one run, demo size)")
    print(f"  source rows generated          {source_rows:>12,}")
    print(f"  event files                    {len(summary.event_files):>12,}")
    print(f"  raw rows landed                {landed:>12,}")
    extract_seconds = timings.seconds["extract_sources"]
    print(f"  extract_sources DAG            {extract_seconds:>12.1f} s   {landed / extract_seconds:>10,.0f} rows/s")
    for dag_id in DAG_CHAIN[1:]:
        print(f"  {dag_id:<30} {timings.seconds[dag_id]:>12.1f} s")
    print(f"  whole DAG chain                {timings.total:>12.1f} s")
    print(f"  bare dbt build                 {dbt_seconds:>12.1f} s")
    print(f"  chain / bare dbt build         {timings.total / dbt_seconds:>12.2f} x")
    restore_archived_files(cfg.landing_dir)
    return 0
