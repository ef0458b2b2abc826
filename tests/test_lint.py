"""Lint, as CI runs it (the README's test command runs pytest, so lint failures fail the build).

- ruff (ruff.toml) on every Python directory;
- sqlfluff (.sqlfluff: postgres dialect, jinja templater with dbt builtins, no database) on the dbt
  project's models, singular tests and snapshots. Macro files and generic tests are in .sqlfluffignore:
  their SQL is linted where the models and tests call them.

`make lint` runs the same two commands.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_PATHS = ("dags", "include", "plugins", "tests")
SQL_PATHS = ("dbt_project/models", "dbt_project/tests", "dbt_project/snapshots")


def _run(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_ruff_passes_on_all_python() -> None:
    result = _run("ruff", "check", *PYTHON_PATHS, timeout=300)
    assert result.returncode == 0, f"ruff check {' '.join(PYTHON_PATHS)} failed:\n{result.stdout}{result.stderr}"


def test_sqlfluff_passes_on_every_model() -> None:
    result = _run("sqlfluff", "lint", *SQL_PATHS, "--processes", "2", "--disable-progress-bar", timeout=1200)
    assert result.returncode == 0, (
        f"sqlfluff lint {' '.join(SQL_PATHS)} failed (fix the SQL, or `sqlfluff fix <file>` for layout):\n"
        f"{result.stdout}{result.stderr}"
    )
