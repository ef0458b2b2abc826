"""The transform run's parse stays partial between runs while every run compiles its own as-of instant.

Each run parses the project without vars (meridian.transform.dbt_run.Dbt) and
passes the run's vars to the build only: dbt keeps partial parsing's saved
state (vars, profile and target are part of it; the as-of changes every run)
and compiles each node with the build's vars. Two runs over one target
directory, as two pipeline runs are: the second parse re-parses nothing, and
the SQL each compiles holds its own instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from meridian.runtime import parse_instant
from meridian.transform.dbt_run import Dbt
from meridian.transform.plan import RunPlan
from meridian.transform.project_state import manifest_facts, project_state
from tests.conftest import private_warehouse

pytestmark = pytest.mark.e2e

MODEL = "stg_app__events"  # a view whose SQL embeds the as-of instant (as_of_end)


@pytest.fixture(scope="module")
def warehouse() -> Iterator[None]:
    with private_warehouse("meridian-partial-parse-"):
        yield


def run_once(target: Path, instant: str) -> tuple[list[str], str, Dbt]:
    """One run's parse (as build_warehouse does it) and the model compiled with the run's vars."""
    events: list[str] = []
    dbt = Dbt(target=target)
    dbt.ensure_parsed(write_json=False, callbacks=[lambda event: events.append(event.info.name)])
    plan = RunPlan(parse_instant(instant, "test"), False, "incremental", 3, None)
    result = dbt.invoke(["compile", "--select", MODEL, "--vars", json.dumps(plan.dbt_vars())])
    assert result.success, result.exception
    compiled = next((target / "compiled").rglob(f"{MODEL}.sql")).read_text()
    return events, compiled, dbt


def test_the_second_run_parses_nothing_and_compiles_its_own_instant(warehouse, tmp_path):
    target = tmp_path / "target"
    first_events, first_sql, first = run_once(target, "2026-10-31T09:00:00+00:00")
    second_events, second_sql, second = run_once(target, "2026-10-31T10:00:00+00:00")

    assert "UnableToPartialParse" in first_events  # the first parse of this target: nothing saved yet
    assert "UnableToPartialParse" not in second_events, second_events
    assert "PartialParsingSkipParsing" in second_events  # "no changes found, skipping parsing"
    assert "2026-10-31T09:00:00+00:00" in first_sql and "2026-10-31T10" not in first_sql
    assert "2026-10-31T10:00:00+00:00" in second_sql and "2026-10-31T09" not in second_sql
    # the parse wrote no manifest.json (the build writes it); the facts read from the object are the same
    # project state as the manifest.json the compile wrote
    written = json.loads((target / "manifest.json").read_text())
    assert project_state(manifest_facts(second.manifest)) == project_state(written)
