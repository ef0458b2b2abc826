"""meridian bench --json: the JSON object, its options, the README block rendered from it and the peak RSS sampler."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from meridian.devtools import bench_readme, bench_result
from meridian.devtools.bench_proc import run_measured

ROOT = Path(__file__).resolve().parents[2]

FIGURES = {
    "events": 2_104_512, "raw_rows": 2_210_000, "extract_rows_per_s": 412_345, "full_refresh_s": 72.0,
    "incremental_s": 6.0, "hourly_incremental_s": 1.6, "bare_dbt_s": 60.0, "chain_s": 72.0,
    "peak_rss_mb": {"extract_sources": 410.5, "transform_warehouse": 1_530.2, "deliver_reports": 380.0},
    "dashboard_p95_ms": 12.34,
}


def run(**changes) -> dict:
    result = bench_result.assemble({**FIGURES, **{k: v for k, v in changes.items() if k in FIGURES}},
                                   {"users": 20_000, "tenants": 3, "days": 180,
                                    **{k: v for k, v in changes.items() if k not in FIGURES}}, ROOT)
    result["machine"] = {"cores": 2, "memory_gib": 7.8, "cpu_model": "Test CPU @ 2.0GHz"}
    result["date"] = "2026-12-05T15:00:00+00:00"
    result["git_commit"] = "abc123def456"
    return result


def test_json_has_the_issue_fields_first_and_the_ratios():
    result = run()
    assert list(result)[:len(bench_result.REQUIRED_FIELDS)] == list(bench_result.REQUIRED_FIELDS)
    assert result["ratios"] == {"full_refresh_per_incremental": 12.0, "full_refresh_per_hourly_incremental": 45.0,
                                "chain_per_bare_dbt": 1.2}
    assert json.loads(bench_result.json_line(result)) == result
    assert "\n" not in bench_result.json_line(result)


def test_assemble_refuses_a_missing_figure():
    figures = dict(FIGURES)
    del figures["hourly_incremental_s"]
    with pytest.raises(ValueError, match="hourly_incremental_s"):
        bench_result.assemble(figures, {}, ROOT)


def test_machine_describes_cores_memory_and_cpu():
    machine = bench_result.machine()
    assert machine["cores"] >= 1 and machine["memory_gib"] > 0 and machine["cpu_model"]


def options(**given) -> Namespace:
    values = {"api": False, "json": False, "json_out": None, "readme": None, "readme_file": None,
              "skip_generate": False}
    return Namespace(**{**values, **given})


@pytest.mark.parametrize(("given", "message"), [
    ({"api": True, "json": True}, "argument --json: not with --api"),
    ({"api": True, "json_out": "x.json"}, "argument --json-out: 'x.json' not with --api"),
    ({"readme": ["docs/bench/a.json"], "json": True}, "argument --json: not with --readme"),
    ({"readme_file": "README.md"}, "argument --readme-file: 'README.md' needs --readme"),
    ({"api": True, "skip_generate": True}, "argument --skip-generate: not with --api"),
    ({"json_out": "figures.txt"}, "argument --json-out: 'figures.txt' does not end in .json"),
    ({"readme": ["README.md"]}, "argument --readme: 'README.md' does not end in .json"),
    ({"readme": ["nowhere/missing.json"]}, "argument --readme: 'nowhere/missing.json' is not a file"),
])
def test_bench_options_are_refused_by_name(given, message):
    with pytest.raises(bench_result.BenchArgumentError, match=message.replace("(", r"\(")):
        bench_result.check_bench_options(options(**given))


def test_json_out_is_a_file_under_a_directory(tmp_path):
    (tmp_path / "plain").write_text("")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(bench_result.BenchArgumentError, match="is under .*plain.*which is a file"):
        bench_result.check_json_out(str(tmp_path / "plain" / "out.json"))
    with pytest.raises(bench_result.BenchArgumentError, match="is a directory"):
        bench_result.check_json_out(str(tmp_path / "dir.json"))
    target = tmp_path / "new" / "deeper" / "run.json"
    assert bench_result.check_json_out(str(target)) == target
    assert bench_result.write(run(), target).exists()
    assert json.loads(target.read_text())["events"] == FIGURES["events"]


def test_cli_refuses_json_with_api(capsys):
    from meridian.cli import main

    assert main(["bench", "--api", "--json"]) == 2
    assert "meridian bench: argument --json: not with --api" in capsys.readouterr().err


def test_readme_block_from_three_runs():
    runs = [
        run(events=1_050_000, raw_rows=1_100_000, users=10_000, full_refresh_s=40.0, incremental_s=5.0,
            hourly_incremental_s=1.0, bare_dbt_s=36.0, chain_s=40.0),
        run(),
        run(events=10_400_000, raw_rows=11_000_000, users=110_000, extract_rows_per_s=390_000, full_refresh_s=300.0,
            incremental_s=12.5, hourly_incremental_s=10.0, bare_dbt_s=280.0, chain_s=300.0, dashboard_p95_ms=18.04,
            peak_rss_mb={"extract_sources": 600.0, "transform_warehouse": 2_300.0}),
    ]
    block = bench_readme.render(bench_readme.load_runs_from(runs))
    lines = block.splitlines()
    assert lines[0] == bench_readme.BEGIN and lines[-1] == bench_readme.END
    assert ("Measured by `meridian bench --json` on a shared machine: 2 cores (Test CPU @ 2.0GHz), 7.8 GiB memory."
            in block)
    assert "1.1 M events (`--users 10000`, 2026-12-05, commit abc123def456)" in block
    goals = [line for line in lines if line.startswith("| ") and ("≥" in line or "≤" in line)]
    assert goals == [
        "| full refresh / one-day incremental, demo size | ≥ 10× | 12.0× (72.0 s / 6.0 s) | 2.1 M events | yes |",
        "| full refresh / one-day incremental, 10 M events | ≥ 20× | 24.0× (300.0 s / 12.5 s) | 10.4 M events | yes |",
        "| full refresh / one-hour incremental, 10 M events | ≥ 40× | 30.0× (300.0 s / 10.0 s) | 10.4 M events | no |",
        "| DAG chain / bare dbt build of the same work | ≤ 1.3× | 1.20× (72.0 s / 60.0 s) | 2.1 M events | yes |",
        "| extraction | ≥ 400k rows/s | 390,000 rows/s | 10.4 M events | no |",
        "| dashboard query p95 at 10 M events | ≤ 20 ms | 18.0 ms | 10.4 M events | yes |",
        "| peak RSS of any task at 10 M events | ≤ 2 GB | 2,300 MB (transform_warehouse) | 10.4 M events | no |",
    ]
    scaling = lines[lines.index("|---|---|---|---|---|---|---|---|---|---|---|---|") + 1:-1]
    assert scaling == [
        "| 1.1 M | 1,100,000 | 412,345 | 40.0 s | 5.0 s | 1.0 s | 8.0× | 40.0× | 36.0 s | 1.11× | 12.3 ms | 1,530 MB |",
        "| 2.1 M | 2,210,000 | 412,345 | 72.0 s | 6.0 s | 1.6 s | 12.0× | 45.0× | 60.0 s | 1.20× | 12.3 ms | 1,530 MB |",
        "| 10.4 M | 11,000,000 | 390,000 | 300.0 s | 12.5 s | 10.0 s | 24.0× | 30.0× | 280.0 s | 1.07× | 18.0 ms "
        "| 2,300 MB |",
    ]


def test_readme_block_is_replaced_in_place(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{bench_readme.BEGIN}\nold\n{bench_readme.END}\nafter\n")
    runs_dir = tmp_path / "bench"
    runs_dir.mkdir()
    (runs_dir / "bench-1.json").write_text(json.dumps(run()))
    assert bench_readme.update_readme([str(runs_dir / "bench-1.json")], str(readme), say=lambda _: None) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n<!-- bench:begin -->") and text.endswith("<!-- bench:end -->\nafter\n")
    assert "old" not in text
    readme.write_text("no block here\n")
    said = []
    assert bench_readme.update_readme([str(runs_dir / "bench-1.json")], str(readme), say=said.append) == 2
    assert "needs exactly one <!-- bench:begin -->" in said[0]


def test_a_file_without_the_bench_fields_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"events": 1}))
    with pytest.raises(bench_readme.ReadmeBlockError, match="other.json: not a bench JSON file, missing raw_rows"):
        bench_readme.load_runs([path])


def test_readme_block_matches_the_committed_runs():
    files = sorted((ROOT / "docs" / "bench").glob("bench-*.json"))
    assert files, "docs/bench/ holds the JSON of the runs the README shows"
    expected = bench_readme.render(bench_readme.load_runs(files))
    assert bench_readme.current_block((ROOT / "README.md").read_text()) == expected, (
        "README.md's figures block is not the committed runs': run `meridian bench --readme docs/bench/bench-*.json`")


def test_peak_rss_covers_the_child_processes(tmp_path):
    # a child holding ~200 MB under a parent holding little: the tree's peak sees it
    script = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
              "'b = bytearray(200 * 2**20); import time; time.sleep(1.0)'], check=True)")
    measured = run_measured([sys.executable, "-c", script], env={}, log=tmp_path / "child.log", interval=0.05)
    assert measured.returncode == 0
    assert measured.peak_rss_mb > 200
    assert measured.wall >= 1.0


def test_projection_fits_a_line_per_figure_and_divides_the_per_event_part_by_the_workers():
    runs = [run(events=events, full_refresh_s=10 + 29e-6 * events, incremental_s=5.0, hourly_incremental_s=hourly,
                bare_dbt_s=8 + 25e-6 * events)
            for events, hourly in ((1_000_000, 3.0), (2_000_000, 2.0), (10_000_000, 1.0))]
    fixed, slope = bench_readme.fit([(r["events"], r["full_refresh_s"]) for r in runs])
    assert fixed == pytest.approx(10) and slope == pytest.approx(29e-6)
    # a figure that shrinks with the data is projected flat at its mean, never shrinking further
    assert bench_readme.fit([(r["events"], r["hourly_incremental_s"]) for r in runs]) == (2.0, 0.0)
    lines = bench_readme.render_projection(bench_readme.load_runs_from(runs)).splitlines()
    assert lines[0] == bench_readme.PROJECTION_BEGIN and lines[-1] == bench_readme.PROJECTION_END
    assert "| full refresh | 10.0 s | 29.0 s | 300.0 s |" in lines
    assert "| one-hour incremental | 2.0 s | 0.0 s | 1.0 s |" in lines
    assert ("| figure | 100.0 M events, one node | 100.0 M events, Citus 4 workers | 1000.0 M events, one node "
            "| 1000.0 M events, Citus 32 workers |") in lines
    # 10 + 29 s/M x 100 M = 2,910 s; on 4 workers 10 + 2,900 / 4 = 735 s; at 1,000 M 29,010 s and 916 s
    assert "| full refresh | 48 min | 12 min | 8.1 h | 15 min |" in lines
    assert "| one-day incremental | 5 s | 5 s | 5 s | 5 s |" in lines


def test_scaling_projection_matches_the_committed_runs():
    files = sorted((ROOT / "docs" / "bench").glob("bench-*.json"))
    expected = bench_readme.render_projection(bench_readme.load_runs(files))
    text = (ROOT / "docs" / "SCALING.md").read_text()
    assert bench_readme.current_block(text, "docs/SCALING.md", bench_readme.PROJECTION_BEGIN,
                                      bench_readme.PROJECTION_END) == expected


def test_goals_of_a_size_not_run_are_not_judged_on_a_smaller_run():
    runs = bench_readme.load_runs_from([run(events=events, users=users) for events, users in
                                        ((110_000, 1_000), (330_000, 3_000), (1_050_000, 10_000))])
    goals = [line for line in bench_readme.render(runs).splitlines() if "≥" in line or "≤" in line]
    assert goals[0] == ("| full refresh / one-day incremental, demo size | ≥ 10× | not measured at this size "
                        "(12.0× (72.0 s / 6.0 s) at 1.1 M events) | none | not measured |")
    assert all(line.endswith("| none | not measured |") for line in goals)


def test_one_run_is_not_projected():
    block = bench_readme.render_projection(bench_readme.load_runs_from([run()]))
    assert "Not projected: a fit needs runs at two sizes at least" in block
    assert block.startswith(bench_readme.PROJECTION_BEGIN) and block.endswith(bench_readme.PROJECTION_END)
