"""Reusing generated data (meridian.demo.generated, ``meridian bench --skip-generate``).

One small generation into the session's embedded PostgreSQL and a temporary
landing directory; the checks edit only the manifest and the files, never the
source rows, so later tests see the generated data unchanged.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from meridian.demo.generate import generate
from meridian.demo.generated import HELD_BACK, ReuseError, manifest_path, reuse, source_row_counts

ARGUMENTS = {"seed": 11, "tenants": 2, "users": 200, "days": 20, "end_date": date(2026, 10, 31)}


@pytest.fixture(scope="module")
def generated(warehouse_server: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    landing = tmp_path_factory.mktemp("reuse") / "landing"
    summary = generate(**ARGUMENTS, landing_dir=landing, progress=False)
    return {"summary": summary, "landing": landing, "manifest": manifest_path(landing).read_text()}


@pytest.fixture()
def landing(generated: dict[str, Any]) -> Iterator[Path]:
    """The landing dir with the manifest as generated (a test may edit it: it is put back afterwards)."""
    yield generated["landing"]
    manifest_path(generated["landing"]).write_text(generated["manifest"])


def test_reuse_gives_back_the_generation_summary(generated: dict[str, Any], landing: Path) -> None:
    summary = generated["summary"]
    again = reuse(ARGUMENTS, landing)
    assert again.row_counts == summary.row_counts
    assert again.event_files == summary.event_files
    assert (again.tenants, again.start_date, again.end_date) == (summary.tenants, summary.start_date,
                                                                 summary.end_date)
    assert again.anomalies == summary.anomalies
    # the manifest's counts are the databases' counts, not copied from the summary alone
    counts = source_row_counts()
    assert {name: counts[name] for name in summary.row_counts if name in counts} == {
        name: count for name, count in summary.row_counts.items() if not name.startswith("landing.")}


def test_archived_and_held_back_files_are_moved_back(generated: dict[str, Any], landing: Path) -> None:
    files = generated["summary"].event_files
    archive, held = landing / "archive", landing.parent / HELD_BACK
    archive.mkdir(exist_ok=True)
    held.mkdir(exist_ok=True)
    shutil.move(files[0], archive / files[0].name)
    shutil.move(files[-1], held / files[-1].name)
    assert not files[0].exists() and not files[-1].exists()
    reuse(ARGUMENTS, landing)
    assert files[0].is_file() and files[-1].is_file()
    assert not list(archive.iterdir()) and not list(held.iterdir())


@pytest.mark.parametrize(("change", "message"), [
    ({"users": 300}, "made with users=200 (asked 300)"),
    ({"seed": 12}, "made with seed=11 (asked 12)"),
    ({"end_date": date(2026, 10, 30)}, "made with end_date='2026-10-31' (asked '2026-10-30')"),
])
def test_other_arguments_are_refused_by_name(landing: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ReuseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        reuse({**ARGUMENTS, **change}, landing)


def test_changed_source_rows_are_refused(landing: Path) -> None:
    path = manifest_path(landing)
    content = json.loads(path.read_text())
    content["row_counts"]["app.users"] += 1
    path.write_text(json.dumps(content))
    with pytest.raises(ReuseError, match=r"app\.users has [\d,]+ rows, the manifest [\d,]+"):
        reuse(ARGUMENTS, landing)


def test_a_missing_event_file_is_refused(generated: dict[str, Any], landing: Path) -> None:
    gone = generated["summary"].event_files[3]
    kept = gone.read_bytes()
    gone.unlink()
    try:
        with pytest.raises(ReuseError, match=f"1 event file\\(s\\) of .* are not in .*: {gone.name}"):
            reuse(ARGUMENTS, landing)
    finally:
        gone.write_bytes(kept)


def test_no_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReuseError, match="no generated data to reuse: .* does not exist"):
        reuse(ARGUMENTS, tmp_path / "landing")

