"""The JSON of ``meridian bench --json``: the figures of one run, the machine and checkout they were taken on.

One object, written as the last line of the output and to a file (``out/bench/bench-<events>.json`` unless
``--json-out`` names another). The fields of issue 15 come first; the rest is context.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# the figures issue 15 asks for, in its order; every JSON the bench writes has each of them
REQUIRED_FIELDS = (
    "events", "raw_rows", "extract_rows_per_s", "full_refresh_s", "incremental_s", "hourly_incremental_s",
    "bare_dbt_s", "chain_s", "peak_rss_mb", "dashboard_p95_ms",
)


class BenchArgumentError(ValueError):
    """A bench option that cannot be used; the message names the option and the value."""


def check_json_out(value: str | None) -> Path | None:
    """``--json-out PATH``: a ``.json`` file whose directory exists or can be created; not a directory."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.suffix != ".json":
        raise BenchArgumentError(f"argument --json-out: {value!r} does not end in .json")
    if path.is_dir():
        raise BenchArgumentError(f"argument --json-out: {value!r} is a directory; name a .json file")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise BenchArgumentError(f"argument --json-out: {value!r} is under {str(parent)!r}, "
                                         "which is a file, not a directory")
            if not os.access(parent, os.W_OK):
                raise BenchArgumentError(f"argument --json-out: {str(parent)!r} is not writable")
            break
    return path


def check_bench_options(args: Any) -> Path | None:
    """The JSON-related options of ``meridian bench`` taken together; returns the ``--json-out`` path (or None).

    ``--api`` measures the read API alone and ``--readme`` renders existing JSON files: neither runs the pipeline,
    so neither takes ``--json`` or ``--json-out``.
    """
    if args.readme_file is not None and not args.readme:
        raise BenchArgumentError(f"argument --readme-file: {args.readme_file!r} needs --readme JSON...")
    for mode, given in (("--readme", bool(args.readme)), ("--api", args.api)):
        if not given:
            continue
        if args.json:
            raise BenchArgumentError(f"argument --json: not with {mode} (--json reports a pipeline run)")
        if args.json_out is not None:
            raise BenchArgumentError(f"argument --json-out: {args.json_out!r} not with {mode} "
                                     "(only a pipeline run writes JSON)")
        if getattr(args, "skip_generate", False):
            raise BenchArgumentError(f"argument --skip-generate: not with {mode} (only a pipeline run generates)")
    if args.readme and args.api:
        raise BenchArgumentError("argument --readme: not with --api")
    for name in args.readme or ():
        path = Path(name)
        if path.suffix != ".json":
            raise BenchArgumentError(f"argument --readme: {name!r} does not end in .json")
        if not path.is_file():
            raise BenchArgumentError(f"argument --readme: {name!r} is not a file")
    return check_json_out(args.json_out)


def default_json_path(out_dir: Path, events: int) -> Path:
    return out_dir / "bench" / f"bench-{events}.json"


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model of this machine."""
    import psutil

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": model,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def git_commit(root: Path) -> str | None:
    """The checkout's commit, with ``-dirty`` when tracked files differ from it; None outside git."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def assemble(figures: dict[str, Any], context: dict[str, Any], root: Path) -> dict[str, Any]:
    """The bench's JSON object: the required figures (each must be present), ratios, then context."""
    missing = [name for name in REQUIRED_FIELDS if name not in figures]
    if missing:
        raise ValueError(f"bench figures missing: {', '.join(missing)}")
    result: dict[str, Any] = {name: figures[name] for name in REQUIRED_FIELDS}
    result["ratios"] = {
        "full_refresh_per_incremental": ratio(figures["full_refresh_s"], figures["incremental_s"]),
        "full_refresh_per_hourly_incremental": ratio(figures["full_refresh_s"], figures["hourly_incremental_s"]),
        "chain_per_bare_dbt": ratio(figures["chain_s"], figures["bare_dbt_s"]),
    }
    result.update({key: value for key, value in figures.items() if key not in result})
    result.update(context)
    result["machine"] = machine()
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["git_commit"] = git_commit(root)
    return result


def write(result: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    return path


def json_line(result: dict[str, Any]) -> str:
    return json.dumps(result, separators=(",", ":"))
