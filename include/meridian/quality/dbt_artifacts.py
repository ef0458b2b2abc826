"""dbt's artifacts as read: what kind a result is, which node it names, the freshness results.

Pure functions over the parsed JSON of ``run_results.json``, ``sources.json``
and ``manifest.json`` (no database): :mod:`meridian.quality.dbt_results`
turns them into rows of audit.dbt_node_results and into alerts, and
:mod:`meridian.transform.freshness` reads the thresholds' units from
:data:`PERIOD_HOURS`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PERIOD_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


def is_freshness_artifact(artifact: Mapping[str, Any]) -> bool:
    """True for ``sources.json`` (dbt source freshness), False for ``run_results.json``."""
    version = str((artifact.get("metadata") or {}).get("dbt_schema_version", ""))
    if "/sources/" in version:
        return True
    if "/run-results/" in version:
        return False
    return any("max_loaded_at" in result or result.get("status") == "runtime error"
               for result in artifact.get("results") or [])


def resource_type(unique_id: str) -> str:
    """``model``, ``test``, ``unit_test``, ``seed``, ``snapshot``, ``source``... from a dbt unique id."""
    return unique_id.split(".", 1)[0]


def node_name(unique_id: str) -> str:
    """The node's name: ``test.meridian.not_null_x.ab12cd`` → ``not_null_x``; a source → ``raw.app__users``."""
    parts = unique_id.split(".")
    if parts[0] == "source" and len(parts) >= 4:
        return f"{parts[2]}.{parts[3]}"
    if parts[0] == "unit_test" and len(parts) >= 4:
        return f"{parts[2]}.{parts[3]}"
    return parts[2] if len(parts) >= 3 else unique_id


def is_singular_test(unique_id: str) -> bool:
    """Generic test ids end in a hash (``test.pkg.name.hash``); singular ones do not (``test.pkg.name``)."""
    parts = unique_id.split(".")
    return parts[0] == "test" and len(parts) == 3


def freshness_sources(manifest: Mapping[str, Any]) -> list[str]:
    """Unique ids of the sources in a parsed ``manifest.json`` that have a freshness threshold."""
    found = []
    for unique_id, source in (manifest.get("sources") or {}).items():
        freshness = source.get("freshness") or (source.get("config") or {}).get("freshness") or {}
        if any((freshness.get(key) or {}).get("count") for key in ("warn_after", "error_after")):
            found.append(unique_id)
    return sorted(found)


def artifact_invocation_id(artifact: Mapping[str, Any]) -> str:
    metadata = artifact.get("metadata") or {}
    invocation_id = metadata.get("invocation_id")
    if not invocation_id:
        raise ValueError("the dbt artifact has no metadata.invocation_id; pass a parsed run_results.json or sources.json")
    return str(invocation_id)


def completed_at(result: Mapping[str, Any], fallback: str | None) -> str | None:
    for timing in result.get("timing") or []:
        if timing.get("name") == "execute" and timing.get("completed_at"):
            return timing["completed_at"]
    return fallback


def rows_affected(result: Mapping[str, Any]) -> int | None:
    """Rows written by a model, seed or snapshot (the adapter's count; -1, e.g. for a view, is unknown)."""
    if resource_type(result.get("unique_id", "")) not in ("model", "seed", "snapshot"):
        return None
    value = (result.get("adapter_response") or {}).get("rows_affected")
    return int(value) if isinstance(value, int) and value >= 0 else None


def threshold_hours(threshold: Mapping[str, Any] | None) -> float | None:
    if not threshold or not threshold.get("count") or threshold.get("period") not in PERIOD_HOURS:
        return None
    return float(threshold["count"]) * PERIOD_HOURS[threshold["period"]]


def freshness_results(
    artifact: Mapping[str, Any], expected_sources: Iterable[str] | None
) -> list[dict[str, Any]]:
    """The artifact's results plus a ``runtime error`` result for each expected source it left out."""
    results = [dict(result) for result in artifact.get("results") or []]
    seen = {result.get("unique_id") for result in results}
    for unique_id in sorted(set(expected_sources or ()) - seen):
        results.append({
            "unique_id": unique_id,
            "status": "runtime error",
            "error": "no freshness result: the freshness query failed (dbt logs the database error)",
        })
    return results


def load_artifact(artifact: Mapping[str, Any] | str | Path) -> dict:
    """A dbt artifact as a dict: given parsed, or read from a ``run_results.json`` / ``sources.json`` path."""
    if isinstance(artifact, Mapping):
        return dict(artifact)
    return json.loads(Path(artifact).read_text())
