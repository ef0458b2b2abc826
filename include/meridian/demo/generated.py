"""What the last generation wrote, so a bench can rerun on new code without generating again.

``generate()`` writes a manifest beside the landing directory
(``.<landing dir name>-generated.json``): the arguments (seed, tenants, users,
days, end date), the row count of every source table, the event file names and
the anomaly counts. It deletes the manifest before it starts, so a generation
that fails leaves none behind.

``reuse()`` turns that manifest back into the ``GenerationSummary`` the bench
needs, after checking that the data is still the one asked for: the same
arguments, every source table holding the rows the manifest counted, and every
event file in the landing directory again (files a previous run archived or
held back are moved back first). A mismatch names the value that differs and
where it was read, so the fix (generate again) is obvious.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from meridian import db
from meridian.config import SOURCE_CONNECTIONS
from meridian.sources.schema import TABLES

HELD_BACK = "held-back"  # the bench's folder (beside the landing dir) for files of days not yet extracted
EVENT_FILES = "*.jsonl*"


@dataclass
class GenerationSummary:
    """What one generation wrote (returned by ``meridian.demo.generate.generate`` and by :func:`reuse`)."""

    tenants: list[str]
    start_date: date
    end_date: date
    row_counts: dict[str, int]  # "app.users" -> rows written (bad rows included); "landing.event_lines" -> lines
    event_files: list[Path]
    seconds: float
    anomalies: dict[str, int] = field(default_factory=dict)  # "payments.negative_amount" -> bad rows, ...

    def describe(self) -> str:
        lines = [f"generated {self.start_date} .. {self.end_date} for tenants {', '.join(self.tenants)} "
                 f"in {self.seconds:.1f}s"]
        lines += [f"  {name:<32} {count:>10,}" for name, count in sorted(self.row_counts.items())]
        lines.append(f"  event files: {len(self.event_files)}")
        return "\n".join(lines)


class ReuseError(RuntimeError):
    """The generated data cannot be reused as asked (no manifest, other arguments, changed data)."""


def manifest_path(landing_dir: Path) -> Path:
    return landing_dir.parent / f".{landing_dir.name}-generated.json"


def forget(landing_dir: Path) -> None:
    manifest_path(landing_dir).unlink(missing_ok=True)


def record(summary: GenerationSummary, arguments: dict[str, Any], landing_dir: Path) -> Path:
    """Write the manifest of a committed generation (``arguments``: seed, tenants, users, days, end_date)."""
    path = manifest_path(landing_dir)
    content = {
        "arguments": {key: str(value) if isinstance(value, date) else value for key, value in arguments.items()},
        "tenants": summary.tenants,
        "start_date": summary.start_date.isoformat(),
        "end_date": summary.end_date.isoformat(),
        "row_counts": summary.row_counts,
        "event_files": [file.name for file in summary.event_files],
        "seconds": summary.seconds,
        "anomalies": summary.anomalies,
    }
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return path


def restore_event_files(landing_dir: Path) -> int:
    """Move event files back from ``archive/`` and the bench's held-back folder; returns how many moved."""
    moved = 0
    for folder in (landing_dir / "archive", landing_dir.parent / HELD_BACK):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(EVENT_FILES)):
            shutil.move(str(path), landing_dir / path.name)
            moved += 1
    return moved


def source_row_counts() -> dict[str, int]:
    """Rows of every source table now ("app.events" -> count)."""
    counts: dict[str, int] = {}
    for spec in TABLES:
        with db.connection(SOURCE_CONNECTIONS[spec.source]) as conn, conn.cursor() as cur:
            cur.execute(f"select count(*) from public.{spec.name}")
            counts[spec.qualified] = cur.fetchone()[0]
    return counts


def reuse(arguments: dict[str, Any], landing_dir: Path) -> GenerationSummary:
    """The summary of the data generated earlier with ``arguments``; raises ReuseError if it is not that data."""
    path = manifest_path(landing_dir)
    if not path.exists():
        raise ReuseError(f"no generated data to reuse: {path} does not exist (run without --skip-generate once)")
    content = json.loads(path.read_text(encoding="utf-8"))
    wanted = {key: str(value) if isinstance(value, date) else value for key, value in arguments.items()}
    recorded = content.get("arguments", {})
    differ = [f"{key}={recorded.get(key)!r} (asked {value!r})" for key, value in wanted.items()
              if recorded.get(key) != value]
    if differ:
        raise ReuseError(f"the generated data in {path} was made with {', '.join(differ)}: "
                         "generate again (run without --skip-generate)")
    restore_event_files(landing_dir)
    counts = source_row_counts()
    changed = [f"{name} has {counts.get(name, 0):,} rows, the manifest {expected:,}"
               for name, expected in content["row_counts"].items()
               if not name.startswith("landing.") and counts.get(name, 0) != expected]
    if changed:
        raise ReuseError(f"the source databases no longer hold the data of {path}: {'; '.join(changed)}")
    missing = [name for name in content["event_files"] if not (landing_dir / name).is_file()]
    if missing:
        raise ReuseError(f"{len(missing)} event file(s) of {path} are not in {landing_dir}: "
                         f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return GenerationSummary(
        tenants=content["tenants"],
        start_date=date.fromisoformat(content["start_date"]),
        end_date=date.fromisoformat(content["end_date"]),
        row_counts=content["row_counts"],
        event_files=sorted(landing_dir / name for name in content["event_files"]),
        seconds=0.0,
        anomalies=content["anomalies"],
    )
