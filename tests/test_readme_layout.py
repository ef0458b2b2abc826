"""The README's "Layout" section matches the tree: every top-level folder, DAG, Python package and
macro folder is named, and every folder it lists exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Layout\n\n```\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md has no ## Layout section with a code block"
    return match.group(1)


def listed_folders(block: str) -> list[str]:
    """The folders of the first column (``dags/``, ``.ci/`` ...)."""
    return re.findall(r"^(\S+)/\s", block, flags=re.MULTILINE)


def tracked_top_level_folders() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {name.split("/", 1)[0] for name in files if "/" in name}


def named(block: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", block) is not None


def test_every_listed_folder_exists_and_every_top_level_folder_is_listed():
    block = layout_block()
    listed = listed_folders(block)
    assert [folder for folder in listed if not (ROOT / folder).is_dir()] == []
    assert sorted(tracked_top_level_folders() - set(listed)) == []


def test_every_dag_python_package_and_macro_folder_is_named():
    block = layout_block()
    packages = [path.parent.name for path in (ROOT / "include" / "meridian").glob("*/__init__.py")]
    dags = [path.stem for path in (ROOT / "dags").glob("*.py") if not path.name.startswith("_")]
    macro_folders = [path.name for path in (ROOT / "dbt_project" / "macros").iterdir() if path.is_dir()]
    test_folders = [path.name for path in (ROOT / "tests").iterdir()
                    if path.is_dir() and (path / "__init__.py").exists()]
    assert len(packages) > 5 and dags and macro_folders and test_folders  # the globs found the tree
    unnamed = [name for name in [*packages, *dags, *macro_folders, *test_folders] if not named(block, name)]
    assert unnamed == []


def test_a_missing_name_is_caught():
    block = layout_block()
    assert named(block, "warehouse_maintenance")
    assert not named(block, "no_such_package")
    assert not named(block.replace("devtools", "tools"), "devtools")
