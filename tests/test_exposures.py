"""Exposures (dbt_project/models/exposures.yml): every mart has a reader, every report type is declared.

Reads the manifest dbt parses from the project: dbt_project/target/manifest.json when it is newer than
every file of the project (``make install`` parses there before the tests), else a fresh ``dbt parse``
into a temp dir. dbt itself fails the parse when an exposure refs a model that does not exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
GENERATED_DIRS = {"target", "logs", "dbt_packages"}


def _newest_project_file() -> float:
    newest = 0.0
    for path in PROJECT_DIR.rglob("*"):
        relative = path.relative_to(PROJECT_DIR)
        if relative.parts[0] in GENERATED_DIRS or not path.is_file():
            continue
        newest = max(newest, path.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def manifest(test_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from meridian.airflow_env import run_dbt

    path = PROJECT_DIR / "target" / "manifest.json"  # where `make install` parses to
    if not (path.exists() and path.stat().st_mtime >= _newest_project_file()):
        target = tmp_path_factory.mktemp("dbt-target")
        result = run_dbt(["parse", "--quiet", "--no-partial-parse", "--target-path", str(target)], check=False)
        assert result.returncode == 0, "dbt parse failed (an exposure refs a missing model?): run `meridian dbt parse`"
        path = target / "manifest.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def exposures(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {node["name"]: node for node in manifest["exposures"].values()}
    assert found, "no exposures in the manifest"
    return found


def _model_names(manifest: dict[str, Any], unique_ids: list[str]) -> set[str]:
    return {manifest["nodes"][unique_id]["name"] for unique_id in unique_ids if unique_id.startswith("model.")}


def test_every_mart_is_read_by_an_exposure(manifest: dict[str, Any], exposures: dict[str, dict[str, Any]]) -> None:
    marts = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")
    }
    assert marts, "no models under models/marts"
    read = set()
    for exposure in exposures.values():
        read |= _model_names(manifest, exposure["depends_on"]["nodes"])
    unread = sorted(marts - read)
    assert not unread, f"marts no exposure reads (add them to a dashboard or report in exposures.yml): {unread}"


def test_every_report_type_has_an_exposure_of_the_marts_it_reads(
    manifest: dict[str, Any], exposures: dict[str, dict[str, Any]]
) -> None:
    from meridian.reports.registry import REPORT_TYPES

    report_exposures = {
        exposure["config"]["meta"]["report_type"]: exposure
        for exposure in exposures.values()
        if "report_type" in exposure["config"].get("meta", {})
    }
    assert sorted(report_exposures) == sorted(REPORT_TYPES), "one exposure per report type of the registry"
    for name, report_type in REPORT_TYPES.items():
        exposure = report_exposures[name]
        assert exposure["name"] == f"report_{name}"
        assert exposure["type"] == "application"
        reads = {table.split(".", 1)[1] for table in report_type.tables}
        declared = _model_names(manifest, exposure["depends_on"]["nodes"])
        assert declared == reads, (
            f"exposure report_{name} depends_on {sorted(declared)}, but the report's sections read {sorted(reads)}"
        )


def test_dashboards_and_reports_are_documented(exposures: dict[str, dict[str, Any]]) -> None:
    kinds = {exposure["type"] for exposure in exposures.values()}
    assert {"application", "dashboard"} <= kinds
    for name, exposure in exposures.items():
        assert exposure["description"].strip(), f"{name} has no description"
        assert exposure["owner"].get("email"), f"{name} has no owner e-mail"
        assert exposure["label"], f"{name} has no label"
        assert exposure["depends_on"]["nodes"], f"{name} reads nothing"


def test_the_read_api_exposure_lists_every_mart_the_api_queries(
    manifest: dict[str, Any], exposures: dict[str, dict[str, Any]]
) -> None:
    import re

    api_dir = Path(__file__).resolve().parents[1] / "include" / "meridian" / "serve" / "api"
    queried = {name for path in api_dir.glob("*.py") for name in re.findall(r"marts\.([a-z_]+)", path.read_text())}
    assert "fct_payment_attempts" in queried
    declared = _model_names(manifest, exposures["kpi_read_api"]["depends_on"]["nodes"])
    assert declared == queried, f"exposure kpi_read_api: add {sorted(queried - declared)}, drop {sorted(declared - queried)}"
