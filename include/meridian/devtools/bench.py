"""``meridian bench``: the pipeline's figures from one run, at the demo size or scaled with ``--users``.

Set-up (not timed): generate the data, hold back the event files after the day
before the last generated day D. T is the end of D (D+1 00:00 UTC). Then, each
timed once:

1. extract_sources + transform_warehouse as of the end of D-1: the first build,
   so a full refresh; extract throughput in raw rows per second;
2. extract_sources + transform_warehouse as of T-1h: the last day up to its last
   hour (23 hours of new data) after the day before, incrementally;
3. extract_sources + transform_warehouse as of T: one new hour, incrementally;
4. transform_warehouse as of T with ``full_refresh``: the full refresh over
   exactly the data the incremental runs saw; it is also the DAG chain figure;
5. a bare ``dbt build`` with the arguments and vars of the DAG's full-refresh
   build step (``--full-refresh``, unit tests excluded, the same as-of vars);
6. dashboard reads: the KPI read API's dashboard endpoints with the cache off,
   and the SQL behind them replayed as the tenant (p95 of each);
7. deliver_reports for the last day (one scheduled report per tenant);
8. rendering the comprehensive report in every format for one tenant and month,
   and delivering the due reports of 100 tenants to a local SMTP server.

Each DAG figure is the DAG run's own duration (its first task's start to its
last task's end, from the Airflow metadata) and, beside it, the wall time of
the whole ``airflow dags test`` process (Python and Airflow start-up included).
The peak RSS of a DAG is the largest sampled resident memory of its
``airflow dags test`` process tree (its tasks and dbt run inside it) over its
runs. The figures go to a JSON file (printed at the end; the last output line
with ``--json``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from meridian import db
from meridian.airflow_env import airflow_env, run_airflow, venv_bin
from meridian.config import WAREHOUSE_CONN_ID, settings
from meridian.demo.generated import HELD_BACK, reuse
from meridian.demo.pipeline import (
    batch_totals,
    dag_test_args,
    ensure_manifest,
    reset_warehouse,
    restore_archived_files,
    seed_schedules,
)
from meridian.devtools import bench_result
from meridian.devtools.bench_proc import log_tail, run_measured
from meridian.runtime import to_instant
from meridian.warehouse import embedded


@dataclass
class DagTiming:
    wall: float
    run: float | None
    peak_rss_bytes: int = 0

    @property
    def seconds(self) -> float:
        """The DAG run's duration, else (no metadata) the process's wall time."""
        return self.run if self.run is not None else self.wall


@dataclass(frozen=True)
class BenchOptions:
    seed: int
    tenants: int
    users: int
    days: int
    emit_json: bool = False
    json_out: Path | None = None
    dashboard_requests: int = 20
    skip: frozenset[str] = frozenset()  # SKIPPABLE steps left out (their figures are null in the JSON)
    skip_generate: bool = False  # reuse the data of an earlier generation with the same arguments


# steps a long run may leave out: the bare dbt build (a third full build) and the report figures
SKIPPABLE = ("bare-dbt", "reports")


def _latest_run(env: dict[str, str], dag_id: str) -> tuple[float | None, str | None]:
    """Seconds from the first task's start to the last task's end of the newest run of ``dag_id``, and its state."""
    database = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    if not database.exists():
        return None, None
    with sqlite3.connect(database) as conn:
        found = conn.execute("select run_id, state from dag_run where dag_id = ? order by id desc limit 1",
                             (dag_id,)).fetchone()
        if not found:
            return None, None
        row = conn.execute(
            "select min(start_date), max(end_date) from task_instance where dag_id = ? and run_id = ?",
            (dag_id, found[0]),
        ).fetchone()
    if not row or not row[0] or not row[1]:
        return None, found[1]
    return (datetime.fromisoformat(row[1]) - datetime.fromisoformat(row[0])).total_seconds(), found[1]


def _dag(dag_id: str, as_of: date, env: dict[str, str], log_dir: Path, *, conf: dict | None = None,
         label: str = "") -> DagTiming:
    args = dag_test_args(dag_id, as_of, conf)
    shown = (conf or {}).get("as_of") or str(as_of)
    print(f"    airflow dags test {dag_id} {shown}{' ' + label if label else ''} ...", end="", flush=True)
    log = log_dir / f"{dag_id}-{as_of}{'-' + label if label else ''}.log"
    measured = run_measured([venv_bin("airflow"), *args], env=env, log=log)
    run, state = _latest_run(env, dag_id)
    if measured.returncode != 0 or state not in (None, "success"):
        raise RuntimeError(f"`airflow {' '.join(args)}` failed (exit {measured.returncode}, run state {state}); "
                           f"log {log}:\n{log_tail(log)}")
    timing = DagTiming(measured.wall, run, measured.peak_rss_bytes)
    shown_run = f"{timing.run:.1f}s run" if timing.run is not None else "run time unknown"
    print(f" {shown_run}, {timing.wall:.1f}s wall, peak RSS {measured.peak_rss_mb:,.0f} MB", flush=True)
    return timing


def _transform_plan(expect_full: bool, step: str) -> dict[str, Any]:
    """The newest transform run's plan; a run that was not the kind the step measures stops the bench."""
    with db.connection(WAREHOUSE_CONN_ID) as conn, conn.cursor() as cur:
        cur.execute("select full_refresh, reason, status, as_of_at from audit.transform_runs "
                    "order by started_at desc limit 1")
        row = cur.fetchone()
    if row is None:
        raise RuntimeError(f"{step}: transform_warehouse left no row in audit.transform_runs")
    full, reason, status, as_of_at = row
    if status != "success" or bool(full) != expect_full:
        raise RuntimeError(f"{step}: expected a successful {'full refresh' if expect_full else 'incremental run'}, "
                           f"audit.transform_runs has full_refresh={full}, status={status!r}, reason={reason!r}")
    return {"step": step, "as_of": as_of_at.isoformat() if as_of_at else None, "full_refresh": bool(full),
            "reason": reason}


def _hold_back_files(landing_dir: Path, after: date) -> list[Path]:
    held = landing_dir.parent / HELD_BACK
    held.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(landing_dir.glob("events_*.jsonl*")):
        if date.fromisoformat(path.name.split(".")[0].rsplit("_", 1)[1]) > after:
            moved.append(path.rename(held / path.name))
    return moved


def run_bench(options: BenchOptions) -> int:
    from meridian.demo.generate import DEFAULT_END_DATE, generate
    from meridian.mailsink import start_background

    cfg = settings()
    embedded.start()
    if options.skip_generate:
        print(f"set-up: reusing the generated {options.tenants} tenants, {options.users:,} users, "
              f"{options.days} days (seed {options.seed})", flush=True)
        summary = reuse({"seed": options.seed, "tenants": options.tenants, "users": options.users,
                         "days": options.days, "end_date": DEFAULT_END_DATE}, cfg.landing_dir)
    else:
        print(f"set-up: generating {options.tenants} tenants, {options.users:,} users, {options.days} days "
              "(not timed)", flush=True)
        summary = generate(seed=options.seed, tenants=options.tenants, users=options.users, days=options.days,
                           progress=False)
        print(f"    generated in {summary.seconds:.1f}s", flush=True)
    day_before = summary.end_date - timedelta(days=1)
    env = airflow_env()
    log_dir = cfg.state_dir / "logs" / "bench"
    reset_warehouse()
    ensure_manifest(env)
    run_airflow(["db", "migrate"], env=env, capture=log_dir / "db_migrate.log")
    held = _hold_back_files(cfg.landing_dir, day_before)
    # the local SMTP sink takes the data-quality alert mail and the reports
    sink = start_background(cfg.smtp_port)
    try:
        return _timed_runs(options, summary, env, log_dir, held, day_before)
    finally:
        sink.stop()
        restore_archived_files(cfg.landing_dir)


def _bare_dbt(instant: datetime, env: dict[str, str], log_dir: Path) -> tuple[float, int, list[str]]:
    """A bare ``dbt build`` with the DAG's full-refresh build arguments: its wall seconds, peak RSS, arguments."""
    from meridian.transform.dbt_run import build_args
    from meridian.transform.plan import RunPlan, late_arrival_days

    cfg = settings()
    plan = RunPlan(as_of_at=instant, full_refresh=True, reason="bench: bare dbt build",
                   late_arrival_days=late_arrival_days(), last_built_at=None)
    args = [*build_args(plan), "--quiet"]
    command = [venv_bin("dbt"), *args, "--project-dir", str(cfg.dbt_project_dir), "--profiles-dir",
               str(cfg.dbt_project_dir)]
    log = log_dir / "bare-dbt-build.log"
    print(f"    dbt {' '.join(args)} ...", end="", flush=True)
    measured = run_measured(command, env=env, log=log, cwd=cfg.dbt_project_dir)
    if measured.returncode != 0:
        raise RuntimeError(f"bare dbt build failed (exit {measured.returncode}); log {log}:\n{log_tail(log)}")
    print(f" {measured.wall:.1f}s wall, peak RSS {measured.peak_rss_mb:,.0f} MB", flush=True)
    return measured.wall, measured.peak_rss_bytes, args


def _timed_runs(options: BenchOptions, summary, env: dict[str, str], log_dir: Path, held: list[Path],
                day_before: date) -> int:
    from meridian.devtools.bench_dashboard import measure_dashboard

    cfg = settings()
    as_of = summary.end_date
    instant = to_instant(as_of)
    hour_before = instant - timedelta(hours=1)
    source_rows = sum(summary.row_counts.values())
    events = summary.row_counts.get("app.events", 0) + summary.row_counts.get("landing.event_lines", 0)
    timings: dict[str, list[DagTiming]] = {}
    plans = []

    def dag(dag_id: str, day: date, **kwargs: Any) -> DagTiming:
        timing = _dag(dag_id, day, env, log_dir, **kwargs)
        timings.setdefault(dag_id, []).append(timing)
        return timing

    print(f"1. first build as of {to_instant(day_before).isoformat()} (full refresh)", flush=True)
    extract_first = dag("extract_sources", day_before)
    landed_first = batch_totals()[0]
    first = dag("transform_warehouse", day_before)
    plans.append(_transform_plan(True, "first build"))

    print(f"2. the last day up to its last hour: as of {hour_before.isoformat()} (incremental)", flush=True)
    for path in held:
        path.rename(cfg.landing_dir / path.name)
    conf = {"as_of": hour_before.isoformat()}
    extract_day = dag("extract_sources", as_of, conf=conf, label="day")
    incremental = dag("transform_warehouse", as_of, conf=conf, label="day")
    plans.append(_transform_plan(False, "one day"))

    print(f"3. one new hour: as of {instant.isoformat()} (incremental)", flush=True)
    extract_hour = dag("extract_sources", as_of, label="hour")
    hourly = dag("transform_warehouse", as_of, label="hour")
    plans.append(_transform_plan(False, "one hour"))

    print(f"4. the same data rebuilt from scratch: as of {instant.isoformat()} (full refresh)", flush=True)
    full = dag("transform_warehouse", as_of, conf={"full_refresh": True}, label="full-refresh")
    plans.append(_transform_plan(True, "full refresh"))

    if "bare-dbt" in options.skip:
        print("5. bare dbt build: skipped (--skip bare-dbt)", flush=True)
        dbt_seconds, dbt_rss, dbt_args = None, None, None
    else:
        print("5. bare dbt build of the same work (the DAG's full-refresh build arguments)", flush=True)
        dbt_seconds, dbt_rss, dbt_args = _bare_dbt(instant, env, log_dir)

    print("6. dashboard reads, uncached", flush=True)
    dashboard = measure_dashboard(options.dashboard_requests)

    deliver, render, delivery = None, [], []
    if "reports" in options.skip:
        print("7. report delivery and 8. report figures: skipped (--skip reports)", flush=True)
    else:
        print("7. report delivery", flush=True)
        seed_schedules(as_of)
        deliver = dag("deliver_reports", as_of)

        print("8. report figures", flush=True)
        render = _report_figure("render", as_of)
        delivery = _report_figure("delivery", as_of)

    landed = batch_totals()[0]
    peak = {dag_id: round(max(t.peak_rss_bytes for t in runs) / 2**20, 1) for dag_id, runs in timings.items()}
    figures = {
        "events": events, "raw_rows": landed,
        "extract_rows_per_s": round(landed_first / extract_first.seconds),
        "full_refresh_s": round(full.seconds, 1), "incremental_s": round(incremental.seconds, 1),
        "hourly_incremental_s": round(hourly.seconds, 1),
        "bare_dbt_s": round(dbt_seconds, 1) if dbt_seconds is not None else None,
        "chain_s": round(full.seconds, 1), "peak_rss_mb": peak,
        "dashboard_p95_ms": round(dashboard.p95_ms, 2),
    }
    context = {
        "users": options.users, "tenants": options.tenants, "days": options.days, "seed": options.seed,
        "as_of": instant.isoformat(), "source_rows": source_rows, "event_files": len(summary.event_files),
        "generate_s": None if options.skip_generate else summary.seconds,
        "first_build_s": round(first.seconds, 1),
        "extract_first_s": round(extract_first.seconds, 1), "extract_first_wall_s": round(extract_first.wall, 1),
        "extract_rows_per_s_wall": round(landed_first / extract_first.wall),
        "extract_day_s": round(extract_day.seconds, 1), "extract_hour_s": round(extract_hour.seconds, 1),
        "wall_s": {"full_refresh": round(full.wall, 1), "incremental": round(incremental.wall, 1),
                   "hourly_incremental": round(hourly.wall, 1)},
        "bare_dbt_args": dbt_args, "bare_dbt_peak_rss_mb": round(dbt_rss / 2**20, 1) if dbt_rss is not None else None,
        **dashboard.as_dict(),
        "deliver_reports_s": round(deliver.seconds, 1) if deliver else None, "skipped": sorted(options.skip),
        "transform_plans": plans,
        "notes": "incremental_s: the last day up to T-1h (23 hours of new data) after the day before; "
                 "hourly_incremental_s: the hour T-1h..T after it; chain_s: the transform_warehouse full-refresh "
                 "run (first task start to last task end), the same run as full_refresh_s; bare_dbt_s: wall time "
                 "of the dbt process with the DAG's full-refresh build arguments; extract_rows_per_s: raw rows "
                 "landed by the first build's extract_sources over its DAG run duration",
    }
    result = bench_result.assemble(figures, context, cfg.root)
    path = bench_result.write(result, options.json_out or bench_result.default_json_path(cfg.out_dir, events))
    ratios = result["ratios"]

    print(f"\nfigures (one run: {options.tenants} tenants, {options.users:,} users, {options.days} days)")
    print(f"  source rows generated                  {source_rows:>12,}")
    print(f"  events (app events + event file lines) {events:>12,}")
    print(f"  event files                            {len(summary.event_files):>12,}")
    print(f"  raw rows landed                        {landed:>12,}")
    print(f"  extract_sources, first build           {_fmt(extract_first)} "
          f"{figures['extract_rows_per_s']:>10,} rows/s")
    print(f"  extract_sources, the day to T-1h       {_fmt(extract_day)}")
    print(f"  extract_sources, one new hour          {_fmt(extract_hour)}")
    print(f"  transform_warehouse first build (full) {_fmt(first)}")
    print(f"  transform_warehouse one day (incr.)    {_fmt(incremental)}")
    print(f"  transform_warehouse one hour (incr.)   {_fmt(hourly)}")
    print(f"  transform_warehouse full refresh       {_fmt(full)}")
    print(f"  full refresh / one day                 {_fmt_ratio(ratios['full_refresh_per_incremental'])}")
    print(f"  full refresh / one hour                {_fmt_ratio(ratios['full_refresh_per_hourly_incremental'])}")
    bare = f"{dbt_seconds:>12.1f} s" if dbt_seconds is not None else f"{'skipped':>12}"
    print(f"  bare dbt build (DAG's full refresh)    {bare}")
    print(f"  DAG chain / bare dbt build             {_fmt_ratio(ratios['chain_per_bare_dbt'])}")
    print(f"  peak RSS per DAG                       {', '.join(f'{k} {v:,.0f} MB' for k, v in peak.items())}")
    print(f"  dashboard p95, uncached                {figures['dashboard_p95_ms']:>12.1f} ms "
          f"(API {dashboard.http_p95_ms:.1f}, BI queries {dashboard.bi_p95_ms:.1f})")
    if deliver:
        print(f"  deliver_reports                        {_fmt(deliver)}")
    for label, value in (*render, *delivery):
        print(f"  {label:<38} {value}")
    print(f"\nfigures written to {path}")
    if options.emit_json:
        print(bench_result.json_line(result))
    return 0


def _fmt(timing: DagTiming) -> str:
    run = f"{timing.run:>12.1f} s run" if timing.run is not None else f"{'?':>12} s run"
    return f"{run}, {timing.wall:.1f} s wall"


def _fmt_ratio(value: float | None) -> str:
    return f"{value:>12.1f} x" if value is not None else f"{'?':>12} x"


def _report_figure(kind: str, as_of: date) -> list[tuple[str, str]]:
    """The report benchmarks (comprehensive render, 100-tenant delivery), each guarded so one failing
    does not lose the other figures."""
    try:
        if kind == "render":
            from meridian.devtools.bench_reports import bench_render

            result = bench_render(month=as_of.replace(day=1))
            steps = ", ".join(f"{name} {value:.2f}" for name, value in result["seconds"].items())
            return [
                (f"comprehensive report, all formats ({result['tenant_id']}, {result['period']})",
                 f"{float(result['total_seconds']):>12.2f} s"),
                ("  of which (s)", steps),
                ("  sections available", f"{result['sections_available']} of {result['sections']}"),
            ]
        from meridian.devtools.bench_delivery import bench_delivery

        result = bench_delivery(tenants=100)
        return [("due reports of 100 tenants delivered", f"{float(result['seconds']):>12.1f} s")]
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be measured is reported, not fatal
        return [(f"{kind} figure", f"not measured: {exc}")]
