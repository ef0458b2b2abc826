"""``meridian bench``: the pipeline's figures at the demo size, from one run.

Set-up (not timed): generate the demo data, hold back the event files of the
last generated day. Then, each timed once:

1. extract_sources + transform_warehouse for the day before the last one: the
   first build, so a full refresh; extract throughput in raw rows per second;
2. extract_sources + transform_warehouse for the last day: one new day of data,
   an incremental run;
3. transform_warehouse again for the last day with ``full_refresh``: the full
   refresh over exactly the data the incremental run saw;
4. a bare ``dbt build --full-refresh`` of the whole project (unit tests and every
   data test included), the "full dbt build" figure;
5. deliver_reports for the last day (one scheduled report per tenant);
6. rendering the comprehensive report in every format for one tenant and month,
   and delivering the due reports of 100 tenants to a local SMTP server.

Each transform figure is the DAG run's own duration (its first task's start to
its last task's end, from the Airflow metadata) and, beside it, the wall time of
the whole ``airflow dags test`` process (Python and Airflow start-up included).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from meridian.airflow_env import airflow_env, run_airflow, run_dbt
from meridian.config import settings
from meridian.demo.pipeline import (
    batch_totals,
    dag_test_args,
    ensure_manifest,
    reset_warehouse,
    restore_archived_files,
    seed_schedules,
)
from meridian.warehouse import embedded


@dataclass
class DagTiming:
    wall: float
    run: float | None


def _run_duration(env: dict[str, str], dag_id: str) -> float | None:
    """Seconds from the first task's start to the last task's end of the newest run of ``dag_id``."""
    database = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    if not database.exists():
        return None
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "select min(ti.start_date), max(ti.end_date) from task_instance ti where ti.dag_id = ? and ti.run_id = "
            "(select run_id from dag_run where dag_id = ? order by id desc limit 1)",
            (dag_id, dag_id),
        ).fetchone()
    if not row or not row[0] or not row[1]:
        return None
    return (datetime.fromisoformat(row[1]) - datetime.fromisoformat(row[0])).total_seconds()


def _dag(dag_id: str, as_of: date, env: dict[str, str], log_dir: Path, *, conf: str | None = None,
         label: str = "") -> DagTiming:
    args = dag_test_args(dag_id, as_of, json.loads(conf) if conf else None)
    print(f"    airflow dags test {dag_id} {as_of}{' ' + label if label else ''} ...", end="", flush=True)
    started = time.monotonic()
    run_airflow(args, env=env, capture=log_dir / f"{dag_id}-{as_of}{'-' + label if label else ''}.log")
    timing = DagTiming(time.monotonic() - started, _run_duration(env, dag_id))
    run = f"{timing.run:.1f}s run" if timing.run is not None else "run time unknown"
    print(f" {run}, {timing.wall:.1f}s wall", flush=True)
    return timing


def _hold_back_files(landing_dir: Path, after: date) -> list[Path]:
    held = landing_dir.parent / "held-back"
    held.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(landing_dir.glob("events_*.jsonl*")):
        if date.fromisoformat(path.name.split(".")[0].rsplit("_", 1)[1]) > after:
            moved.append(path.rename(held / path.name))
    return moved


def run_bench(*, seed: int, tenants: int, users: int, days: int) -> int:
    from meridian.demo.generate import generate
    from meridian.mailsink import start_background

    cfg = settings()
    embedded.start()
    print(f"set-up: generating {tenants} tenants, {users:,} users, {days} days (not timed)", flush=True)
    summary = generate(seed=seed, tenants=tenants, users=users, days=days, progress=False)
    as_of = summary.end_date
    day_before = as_of - timedelta(days=1)
    source_rows = sum(summary.row_counts.values())
    env = airflow_env()
    log_dir = cfg.state_dir / "logs" / "bench"
    reset_warehouse()
    ensure_manifest(env)
    run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")
    held = _hold_back_files(cfg.landing_dir, day_before)
    # the local SMTP sink takes the data-quality alert mail and the reports
    sink = start_background(cfg.smtp_port)
    try:
        return _timed_runs(summary, source_rows, env, log_dir, held, day_before)
    finally:
        sink.stop()
        restore_archived_files(cfg.landing_dir)


def _timed_runs(summary, source_rows: int, env: dict[str, str], log_dir: Path, held: list[Path],
                day_before: date) -> int:
    cfg = settings()
    as_of = summary.end_date
    print(f"1. first build at {day_before} (full refresh)", flush=True)
    extract_first = _dag("extract_sources", day_before, env, log_dir)
    landed_first = batch_totals()[0]
    first = _dag("transform_warehouse", day_before, env, log_dir)

    print(f"2. one new day: {as_of} (incremental)", flush=True)
    for path in held:
        path.rename(cfg.landing_dir / path.name)
    extract_day = _dag("extract_sources", as_of, env, log_dir)
    incremental = _dag("transform_warehouse", as_of, env, log_dir)

    print(f"3. the same day rebuilt from scratch: {as_of} (full refresh)", flush=True)
    full = _dag("transform_warehouse", as_of, env, log_dir, conf='{"full_refresh": true}', label="full-refresh")

    print("4. bare dbt build --full-refresh of the whole project (unit tests and every data test)", flush=True)
    started = time.monotonic()
    run_dbt(["build", "--quiet", "--full-refresh", "--vars", f"{{as_of_date: '{as_of}'}}"], env=env)
    dbt_seconds = time.monotonic() - started

    print("5. report delivery", flush=True)
    seed_schedules(as_of)
    deliver = _dag("deliver_reports", as_of, env, log_dir)

    print("6. report figures", flush=True)
    render = _report_figure("render", as_of)
    delivery = _report_figure("delivery", as_of)

    landed = batch_totals()[0]
    print("\nfigures (one run, demo size)")
    print(f"  source rows generated                  {source_rows:>12,}")
    print(f"  event files                            {len(summary.event_files):>12,}")
    print(f"  raw rows landed                        {landed:>12,}")
    print(f"  extract_sources, first day             {extract_first.wall:>12.1f} s wall "
          f"{landed_first / extract_first.wall:>10,.0f} rows/s")
    print(f"  extract_sources, one new day           {extract_day.wall:>12.1f} s wall")
    print(f"  transform_warehouse first build (full) {_fmt(first)}")
    print(f"  transform_warehouse incremental        {_fmt(incremental)}")
    print(f"  transform_warehouse full refresh       {_fmt(full)}")
    if full.run and incremental.run:
        print(f"  full refresh / incremental (DAG run)   {full.run / incremental.run:>12.1f} x")
    print(f"  full refresh / incremental (wall)      {full.wall / incremental.wall:>12.1f} x")
    print(f"  bare dbt build --full-refresh          {dbt_seconds:>12.1f} s")
    print(f"  deliver_reports                        {_fmt(deliver)}")
    for label, value in (*render, *delivery):
        print(f"  {label:<38} {value}")
    return 0


def _fmt(timing: DagTiming) -> str:
    run = f"{timing.run:>12.1f} s run" if timing.run is not None else f"{'?':>12} s run"
    return f"{run}, {timing.wall:.1f} s wall"


def _report_figure(kind: str, as_of: date) -> list[tuple[str, str]]:
    """The report benchmarks (comprehensive render, 100-tenant delivery), each guarded so one failing
    does not lose the other figures."""
    try:
        if kind == "render":
            from meridian.reports.bench import bench_render

            result = bench_render(month=as_of.replace(day=1))
            steps = ", ".join(f"{name} {value:.2f}" for name, value in result["seconds"].items())
            return [
                (f"comprehensive report, all formats ({result['tenant_id']}, {result['period']})",
                 f"{float(result['total_seconds']):>12.2f} s"),
                ("  of which (s)", steps),
                ("  sections available", f"{result['sections_available']} of {result['sections']}"),
            ]
        from meridian.reports.bench_delivery import bench_delivery

        result = bench_delivery(tenants=100)
        return [("due reports of 100 tenants delivered", f"{float(result['seconds']):>12.1f} s")]
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be measured is reported, not fatal
        return [(f"{kind} figure", f"not measured: {exc}")]
