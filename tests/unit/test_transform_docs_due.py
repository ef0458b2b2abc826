"""When transform_warehouse regenerates the dbt docs: only when the project changed (not on every full refresh)."""

from __future__ import annotations

import json
from pathlib import Path

from meridian.transform.dbt_docs import DOCS_FILES, _manifest_checksum, docs_due


def manifest(path: Path, model_checksum: str) -> Path:
    path.write_text(json.dumps({
        "metadata": {"generated_at": "2026-12-05T10:00:00Z"},
        "nodes": {"model.meridian.fct_x": {"checksum": {"checksum": model_checksum}}},
        "sources": {}, "exposures": {}, "macros": {},
    }))
    return path


def publish(folder: Path, built: Path) -> None:
    folder.mkdir()
    for name in DOCS_FILES:
        (folder / name).write_text("{}")
    (folder / ".project-checksum").write_text(_manifest_checksum(built))


def test_docs_are_due_only_when_missing_forced_or_the_project_changed(tmp_path: Path) -> None:
    built = manifest(tmp_path / "manifest.json", "aaa")
    published = tmp_path / "docs"
    assert docs_due(published, built) == "no docs published yet"
    publish(published, built)
    assert docs_due(published, built) is None
    # a new parse of the same project (another generation time) is the same project
    same = manifest(tmp_path / "same.json", "aaa")
    assert docs_due(published, same) is None
    assert docs_due(published, same, force=True) == "forced"
    changed = manifest(tmp_path / "changed.json", "bbb")
    assert docs_due(published, changed) == "the project changed since the docs were generated"
    (published / "catalog.json").unlink()
    assert docs_due(published, built) == "no docs published yet"
