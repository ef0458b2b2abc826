"""``meridian bench --readme JSON...``: the README's figures block, rendered from bench JSON files.

The block sits between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` in README.md and holds the goals of
issue 15 with the measured figure of each (from the demo-size run, or the largest run for the goals at 10 M
events), and a scaling table with one row per JSON file; docs/SCALING.md's block between
``<!-- projection:begin -->`` and ``<!-- projection:end -->`` holds the run-time projection to 10x and 100x the
largest run. Nothing in them is typed by hand: rerun the bench, commit its JSON under docs/bench/, rerun this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meridian.devtools.bench_result import REQUIRED_FIELDS

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
# the demo's default size (meridian demo, make bench)
DEMO_SIZE = {"tenants": 3, "users": 20_000, "days": 180}


class ReadmeBlockError(ValueError):
    pass


# a goal "at 10 M events" is judged on a run of at least this many events; a demo-size goal on a run in this range
TEN_MILLION_MIN_EVENTS = 8_000_000
DEMO_EVENTS = (1_500_000, 3_000_000)


@dataclass(frozen=True)
class Goal:
    figure: str
    goal: str
    run: str  # "demo" or "largest"
    value: Callable[[dict[str, Any]], float | None]
    met: Callable[[float], bool]
    show: Callable[[float, dict[str, Any]], str]


def _peak(run: dict[str, Any]) -> float | None:
    values = run["peak_rss_mb"].values()
    return max(values) if values else None


def _peak_dag(run: dict[str, Any]) -> str:
    return max(run["peak_rss_mb"], key=run["peak_rss_mb"].get)


def _ratio(numerator: str, denominator: str) -> Callable[[dict[str, Any]], float | None]:
    def value(run: dict[str, Any]) -> float | None:
        return run[numerator] / run[denominator] if run[numerator] and run[denominator] else None

    return value


GOALS = (
    Goal("full refresh / one-day incremental, demo size", "≥ 10×", "demo", _ratio("full_refresh_s", "incremental_s"),
         lambda v: v >= 10, lambda v, r: f"{v:.1f}× ({r['full_refresh_s']:.1f} s / {r['incremental_s']:.1f} s)"),
    Goal("full refresh / one-day incremental, 10 M events", "≥ 20×", "largest",
         _ratio("full_refresh_s", "incremental_s"), lambda v: v >= 20,
         lambda v, r: f"{v:.1f}× ({r['full_refresh_s']:.1f} s / {r['incremental_s']:.1f} s)"),
    Goal("full refresh / one-hour incremental, 10 M events", "≥ 40×", "largest",
         _ratio("full_refresh_s", "hourly_incremental_s"), lambda v: v >= 40,
         lambda v, r: f"{v:.1f}× ({r['full_refresh_s']:.1f} s / {r['hourly_incremental_s']:.1f} s)"),
    Goal("DAG chain / bare dbt build of the same work", "≤ 1.3×", "demo", _ratio("chain_s", "bare_dbt_s"),
         lambda v: v <= 1.3, lambda v, r: f"{v:.2f}× ({r['chain_s']:.1f} s / {r['bare_dbt_s']:.1f} s)"),
    Goal("extraction", "≥ 400k rows/s", "largest", lambda r: r["extract_rows_per_s"], lambda v: v >= 400_000,
         lambda v, r: f"{v:,.0f} rows/s"),
    Goal("dashboard query p95 at 10 M events", "≤ 20 ms", "largest", lambda r: r["dashboard_p95_ms"],
         lambda v: v <= 20, lambda v, r: f"{v:.1f} ms"),
    Goal("peak RSS of any task at 10 M events", "≤ 2 GB", "largest", _peak, lambda v: v <= 2048,
         lambda v, r: f"{v:,.0f} MB ({_peak_dag(r)})"),
)


def load_runs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The bench JSON files, smallest run first; a file without the bench's fields is refused by name."""
    runs = []
    for path in paths:
        try:
            run = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ReadmeBlockError(f"{path}: not a readable bench JSON file ({exc})") from None
        missing = [name for name in REQUIRED_FIELDS if not isinstance(run, dict) or name not in run]
        if missing:
            raise ReadmeBlockError(f"{path}: not a bench JSON file, missing {', '.join(missing)}")
        runs.append(run)
    return load_runs_from(runs)


def load_runs_from(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs already read, smallest first."""
    if not runs:
        raise ReadmeBlockError("no bench JSON files given")
    return sorted(runs, key=lambda run: run["events"])


def millions(count: int) -> str:
    return f"{count / 1e6:.1f} M"


def demo_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run at the demo's default size, else one of about its events (1.5 M to 3 M), else None."""
    for run in runs:
        if all(run.get(key) == value for key, value in DEMO_SIZE.items()):
            return run
    near = [run for run in runs if DEMO_EVENTS[0] <= run["events"] <= DEMO_EVENTS[1]]
    return min(near, key=lambda run: abs(run["events"] - 2_100_000)) if near else None


def ten_million_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return runs[-1] if runs[-1]["events"] >= TEN_MILLION_MIN_EVENTS else None


def _machines(runs: list[dict[str, Any]]) -> str:
    seen = []
    for run in runs:
        machine = run.get("machine") or {}
        text = (f"{machine.get('cores', '?')} cores ({machine.get('cpu_model', 'CPU unknown')}), "
                f"{machine.get('memory_gib', '?')} GiB memory")
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def render(runs: list[dict[str, Any]]) -> str:
    """The block's text, markers included."""
    chosen = {"demo": demo_run(runs), "largest": ten_million_run(runs)}
    lines = [
        BEGIN,
        "<!-- rendered by `meridian bench --readme docs/bench/bench-*.json` from the committed JSON files; "
        "do not edit by hand -->",
        "",
        f"Measured by `meridian bench --json` on a shared machine: {_machines(runs)}. Other work ran on the same "
        "two cores during the runs, so each figure is one noisy sample, not a best of several. Runs: "
        + "; ".join(f"{millions(run['events'])} events (`--users {run.get('users', '?')}`, "
                    f"{run.get('date', '?')[:10]}, commit {run.get('git_commit') or '?'})" for run in runs) + ".",
        "",
        "| figure | goal | measured | run | met |",
        "|---|---|---|---|---|",
    ]
    for goal in GOALS:
        run = chosen[goal.run]
        if run is None:
            # no run of the goal's size: the largest run's figure is shown for reference, not judged
            largest = runs[-1]
            value = goal.value(largest)
            shown = f"not measured at this size ({goal.show(value, largest)} at {millions(largest['events'])} events)" \
                if value is not None else "not measured at this size"
            lines.append(f"| {goal.figure} | {goal.goal} | {shown} | none | not measured |")
            continue
        value = goal.value(run)
        shown = goal.show(value, run) if value is not None else "not measured"
        met = "not measured" if value is None else "yes" if goal.met(value) else "no"
        lines.append(f"| {goal.figure} | {goal.goal} | {shown} | {millions(run['events'])} events | {met} |")
    lines += [
        "",
        "Scaling (seconds are DAG run durations; one day = the last day up to its last hour, after the day "
        "before; one hour = its last hour after that):",
        "",
        "| events | raw rows | extract rows/s | full refresh | one day | one hour | full / day | full / hour "
        "| bare dbt build | chain / bare | dashboard p95 | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        day = _ratio("full_refresh_s", "incremental_s")(run)
        hour = _ratio("full_refresh_s", "hourly_incremental_s")(run)
        chain = _ratio("chain_s", "bare_dbt_s")(run)
        peak = _peak(run)
        lines.append(
            f"| {millions(run['events'])} | {run['raw_rows']:,} | {run['extract_rows_per_s']:,.0f} "
            f"| {run['full_refresh_s']:.1f} s | {run['incremental_s']:.1f} s | {run['hourly_incremental_s']:.1f} s "
            f"| {_times(day)} | {_times(hour)} | {_seconds(run['bare_dbt_s'])} | {_times(chain, 2)} "
            f"| {run['dashboard_p95_ms']:.1f} ms | {'?' if peak is None else f'{peak:,.0f} MB'} |")
    lines.append(END)
    return "\n".join(lines)


PROJECTION_BEGIN = "<!-- projection:begin -->"
PROJECTION_END = "<!-- projection:end -->"
# (events: 10x and 100x the 10 M events of issue 15, Citus workers of the bench machine's size assumed there)
PROJECTION_SCALES = ((100_000_000, 4), (1_000_000_000, 32))


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line y = fixed + per_event * x through the points; the slope is kept at 0 or more (a time
    that does not grow with the data is projected flat, not shrinking)."""
    if len(points) < 2:
        raise ReadmeBlockError("a projection needs runs at two sizes at least")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if not spread:
        raise ReadmeBlockError("a projection needs runs at two different sizes")
    slope = max(0.0, sum((x - mean_x) * (y - mean_y) for x, y in points) / spread)
    return mean_y - slope * mean_x, slope


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render_projection(runs: list[dict[str, Any]]) -> str:
    """The projection block of docs/SCALING.md: each figure's fitted line over the runs, extrapolated to 100 M and
    1,000 M events (10x and 100x the 10 M of issue 15), on one node and on Citus workers (the per-event part
    divided by the workers)."""
    largest = runs[-1]["events"]
    if len({run["events"] for run in runs}) < 2:
        return "\n".join([
            PROJECTION_BEGIN,
            "<!-- rendered by `meridian bench --readme docs/bench/bench-*.json` from the committed JSON files; "
            "do not edit by hand -->",
            "",
            f"Not projected: a fit needs runs at two sizes at least, and the committed runs have one "
            f"({millions(largest)} events). Commit runs at about 1, 2 and 10 M events and rerun "
            "`meridian bench --readme docs/bench/bench-*.json`.",
            PROJECTION_END,
        ])
    figures = (("full refresh", "full_refresh_s"), ("one-day incremental", "incremental_s"),
               ("one-hour incremental", "hourly_incremental_s"), ("bare dbt build", "bare_dbt_s"))
    # a figure left out of a run (meridian bench --skip) is fitted over the runs that have it; one with runs at
    # fewer than two sizes is not projected
    points = {key: [(run["events"], run[key]) for run in runs if run[key] is not None] for _, key in figures}
    figures = tuple((label, key) for label, key in figures if len({x for x, _ in points[key]}) >= 2)
    fits = {key: fit(points[key]) for _, key in figures}
    lines = [
        PROJECTION_BEGIN,
        "<!-- rendered by `meridian bench --readme docs/bench/bench-*.json` from the committed JSON files; "
        "do not edit by hand -->",
        "",
        "Each figure fitted over the runs as a fixed part plus a part per event (least squares; a slope below 0 is "
        "taken as 0):",
        "",
        "| figure | fixed part | per million events | measured at " + millions(largest) + " events |",
        "|---|---|---|---|",
    ]
    for label, key in figures:
        fixed, slope = fits[key]
        lines.append(f"| {label} | {fixed:.1f} s | {slope * 1e6:.1f} s | {_seconds(runs[-1][key])} |")
    if fits["full_refresh_s"][1] <= 0:
        lines += ["", "**Not usable as it stands:** the full refresh does not grow with the data across these runs, "
                  "which a full rebuild must; the runs were not comparable (taken under different load). Retake them "
                  "in one quiet sitting before reading the projection."]
    header = ["figure"]
    for events, workers in PROJECTION_SCALES:
        header += [f"{millions(events)} events, one node", f"{millions(events)} events, Citus {workers} workers"]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, key in figures:
        fixed, slope = fits[key]
        cells = [label]
        for events, workers in PROJECTION_SCALES:
            cells += [_duration(fixed + slope * events), _duration(fixed + slope * events / workers)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(PROJECTION_END)
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "not run" if value is None else f"{value:.1f} s"


def _times(value: float | None, digits: int = 1) -> str:
    return "?" if value is None else f"{value:.{digits}f}×"


def replace_block(text: str, block: str, where: str = "README.md", begin: str = BEGIN, end: str = END) -> str:
    first, last = text.find(begin), text.find(end)
    if first < 0 or last < 0 or last < first or text.count(begin) != 1 or text.count(end) != 1:
        raise ReadmeBlockError(f"{where}: needs exactly one {begin} followed by one {end}")
    return text[:first] + block + text[last + len(end):]


def current_block(text: str, where: str = "README.md", begin: str = BEGIN, end: str = END) -> str:
    first, last = text.find(begin), text.find(end)
    if first < 0 or last < first:
        raise ReadmeBlockError(f"{where}: no {begin} ... {end} block")
    return text[first:last + len(end)]


def update_readme(json_files: list[str], readme_file: str | None = None, say=print) -> int:
    from meridian.config import settings

    readme = Path(readme_file) if readme_file else settings().root / "README.md"
    scaling = readme.parent / "docs" / "SCALING.md"
    try:
        runs = load_runs(Path(name) for name in json_files)
        updated = replace_block(readme.read_text(), render(runs), str(readme))
        projection = None
        if scaling.exists():
            projection = replace_block(scaling.read_text(), render_projection(runs), str(scaling),
                                       PROJECTION_BEGIN, PROJECTION_END)
    except (OSError, ReadmeBlockError) as exc:
        say(f"meridian bench --readme: {exc}")
        return 2
    readme.write_text(updated)
    if projection is not None:
        scaling.write_text(projection)
        say(f"{scaling}: projection block rendered")
    say(f"{readme}: figures block rendered from {len(runs)} run(s) ({', '.join(millions(r['events']) for r in runs)}"
        " events)")
    return 0
