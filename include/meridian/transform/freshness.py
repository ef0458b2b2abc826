"""Source freshness measured in the transform run itself, without a second dbt invocation.

``dbt source freshness`` re-enters dbt (start-up, a run of its own, one thread
per source) to run one small query per source table. The queries are already
cheap (each source's ``loaded_at_query`` in dbt_project/models/staging/
_staging__sources.yml reads audit.batches, not raw); what cost was the
invocation. This module runs the same queries, judged by the same thresholds,
read from the manifest the build parsed, over one connection, and returns a
``sources.json``-shaped dict that :func:`meridian.quality.dbt_results.record_dbt_artifact`
turns into audit.dbt_node_results rows and ``freshness`` alerts exactly as it
does dbt's own artifact:

- ``loaded_at_query`` when the source sets one, else ``max(loaded_at_field)``
  of the source relation (with its ``filter``);
- ``max_loaded_at_time_ago_in_s`` is measured against the database's clock
  (``now()``), as dbt measures it;
- ``error`` when older than ``error_after``, else ``warn`` when older than
  ``warn_after``, else ``pass``; a query that fails is a ``runtime error``
  with the database's message, a source that never loaded (``null``) is an
  ``error`` (dbt's rule);
- sources without a threshold are not measured (as dbt skips them).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.extensions

from meridian.quality.dbt_artifacts import PERIOD_HOURS

log = logging.getLogger(__name__)

SOURCES_SCHEMA_VERSION = "https://schemas.getdbt.com/dbt/sources/v3.json"


def _threshold_seconds(threshold: Mapping[str, Any] | None) -> float | None:
    if not threshold or not threshold.get("count") or threshold.get("period") not in PERIOD_HOURS:
        return None
    return float(threshold["count"]) * PERIOD_HOURS[threshold["period"]] * 3600


def _freshness(source: Mapping[str, Any]) -> dict[str, Any]:
    return dict(source.get("freshness") or (source.get("config") or {}).get("freshness") or {})


def freshness_query(source: Mapping[str, Any]) -> str | None:
    """The query giving a source's last load time, or None when the source sets neither query nor field."""
    config = source.get("config") or {}
    query = source.get("loaded_at_query") or config.get("loaded_at_query")
    if query:
        return f"select ({query.strip().rstrip(';')}) as max_loaded_at"
    field_name = source.get("loaded_at_field") or config.get("loaded_at_field")
    if not field_name:
        return None
    condition = _freshness(source).get("filter")
    where = f" where {condition}" if condition else ""
    return f"select max({field_name}) as max_loaded_at from {source['relation_name']}{where}"


def judge(age_s: float | None, criteria: Mapping[str, Any]) -> str:
    """``pass``, ``warn`` or ``error`` for a last load ``age_s`` seconds ago (None: never loaded → error)."""
    if age_s is None:
        return "error"
    error_after = _threshold_seconds(criteria.get("error_after"))
    warn_after = _threshold_seconds(criteria.get("warn_after"))
    if error_after is not None and age_s > error_after:
        return "error"
    if warn_after is not None and age_s > warn_after:
        return "warn"
    return "pass"


def measure_freshness(conn: psycopg2.extensions.connection, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A ``sources.json``-shaped dict for every source of ``manifest`` with a freshness threshold."""
    results = []
    with conn.cursor() as cur:
        for unique_id, source in sorted((manifest.get("sources") or {}).items()):
            criteria = _freshness(source)
            if _threshold_seconds(criteria.get("warn_after")) is None and \
                    _threshold_seconds(criteria.get("error_after")) is None:
                continue
            started = time.monotonic()
            query = freshness_query(source)
            result: dict[str, Any] = {"unique_id": unique_id, "criteria": criteria}
            if query is None:
                result.update(status="runtime error",
                              error=f"source {unique_id} has a freshness threshold but no loaded_at_field "
                                    "or loaded_at_query")
            else:
                cur.execute("savepoint freshness")
                try:
                    cur.execute(f"select max_loaded_at, now() as snapshotted_at, "
                                f"extract(epoch from now() - max_loaded_at) from ({query}) as measured")
                    max_loaded_at, snapshotted_at, age = cur.fetchone()
                except psycopg2.Error as exc:
                    cur.execute("rollback to savepoint freshness")
                    result.update(status="runtime error",
                                  error=f"{unique_id}: {str(exc).strip()} (query: {query})")
                else:
                    cur.execute("release savepoint freshness")
                    age_s = float(age) if age is not None else None
                    result.update(
                        status=judge(age_s, criteria),
                        max_loaded_at=_iso(max_loaded_at),
                        snapshotted_at=_iso(snapshotted_at),
                        max_loaded_at_time_ago_in_s=age_s,
                    )
            result["execution_time"] = round(time.monotonic() - started, 4)
            results.append(result)
    stale = [r["unique_id"] for r in results if r["status"] != "pass"]
    log.info("source freshness: %s source(s) measured, %s not fresh%s", len(results), len(stale),
             f": {', '.join(stale)}" if stale else "")
    return {
        "metadata": {"dbt_schema_version": SOURCES_SCHEMA_VERSION, "invocation_id": str(uuid.uuid4())},
        "results": results,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
