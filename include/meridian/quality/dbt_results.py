"""dbt's run artifacts into audit.dbt_node_results, and the alerts they raise.

Reading the artifacts' JSON (kinds of result, node names, freshness
thresholds) is :mod:`meridian.quality.dbt_artifacts`.

Two artifact shapes are read, both as the parsed JSON dict:

- ``run_results.json`` of ``dbt build`` / ``dbt run`` / ``dbt test`` / ``dbt seed``:
  one result per node (model, seed, snapshot, data test, unit test) with
  ``status`` (success, error, skipped, pass, fail, warn), ``failures``,
  ``message``, ``execution_time`` and the adapter's ``rows_affected``;
- ``sources.json`` of ``dbt source freshness``: one result per source table with
  ``status`` (pass, warn, error, runtime error), ``max_loaded_at``,
  ``max_loaded_at_time_ago_in_s`` and the ``criteria`` it was judged by.

dbt 1.11 leaves a source whose freshness query failed (status ``runtime
error``: a missing table, a broken ``loaded_at_query``) *out of* sources.json;
it only logs it. Pass ``expected_sources`` (the unique ids of the sources that
have a freshness config, :func:`freshness_sources` reads them from the
manifest) and every one missing from the results counts as a runtime error.

:func:`record_run_results` writes one row per node and invocation
(``invocation_id`` from the artifact's metadata): loading the same artifact
again updates the same rows, so a retried task never duplicates them.

Alerts (:class:`meridian.warehouse.alerts.Alert`, recorded by the caller with
:func:`meridian.warehouse.alerts.record_alert`):

``test_failure`` (:func:`alerts_from_run_results`), one per failed or errored node:
    - a data test that fails: ``critical`` for grain tests (``unique``,
      ``unique_combination_of_columns``) and singular tests (the cross-model
      invariants in ``dbt_project/tests``), ``high`` for the other generic tests;
    - a data test with status ``warn`` (a test configured ``severity: warn``): ``medium``;
    - a data test that could not run (status ``error``), a failing unit test, a
      model, seed or snapshot that failed to build: ``high``.
    Skipped nodes raise nothing (the failure that skipped them does).

``freshness`` (:func:`alerts_from_freshness`), one per stale source table:
    ``warn`` → ``medium``, ``error`` → ``high``, ``runtime error`` → ``high``.

``dedup_key`` is ``<type>:<as-of date>:<node>:<severity>``: the same finding for
the same as-of date is recorded once however often the run is retried, and a
finding that gets worse on a rerun (warn → error) is recorded (and mailed) again.
Without an as-of date the artifact's invocation id stands in for it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import psycopg2.extensions
import psycopg2.extras

from meridian.quality.dbt_artifacts import (
    artifact_invocation_id,
    completed_at,
    freshness_results,
    freshness_sources,
    is_freshness_artifact,
    is_singular_test,
    load_artifact,
    node_name,
    resource_type,
    rows_affected,
    threshold_hours,
)
from meridian.warehouse.alerts import Alert, record_alerts

log = logging.getLogger(__name__)

# generic data tests whose failure means a broken grain: duplicated rows in a table others join on
GRAIN_TESTS = ("unique_combination_of_columns", "unique")
FRESHNESS_SEVERITY = {"warn": "medium", "error": "high", "runtime error": "high"}
MESSAGE_LIMIT = 2000

# the first relation a compiled generic test reads: from "db"."schema"."table" (or schema.table)
_RELATION = re.compile(r'\bfrom\s+(?:"?\w+"?\.)?"?(\w+)"?\."?(\w+)"?', re.IGNORECASE)


def _freshness_message(result: Mapping[str, Any]) -> str:
    name = node_name(result["unique_id"])
    if result.get("status") == "runtime error":
        error = str(result.get("error") or "the freshness query failed (see the dbt log)")
        return f"freshness of {name} could not be measured: {error}"[:MESSAGE_LIMIT]
    age_s = result.get("max_loaded_at_time_ago_in_s")
    criteria = result.get("criteria") or {}
    limits = []
    for key, label in (("warn_after", "warn"), ("error_after", "error")):
        hours = threshold_hours(criteria.get(key))
        if hours is not None:
            limits.append(f"{label} after {hours:g} h")
    age = f"{float(age_s) / 3600:.1f} h ago" if age_s is not None else "at an unknown time"
    return f"{name} last loaded {age} ({result.get('max_loaded_at')}); {', '.join(limits) or 'no limits'}"


def record_run_results(
    conn: psycopg2.extensions.connection,
    run_results: Mapping[str, Any],
    *,
    run_id: str,
    as_of: date | None,
    command: str,
    expected_sources: Iterable[str] | None = None,
) -> dict:
    """Write one audit.dbt_node_results row per node of a parsed dbt artifact; returns a summary.

    ``run_results`` is a parsed ``run_results.json`` (build, run, test, seed) or
    ``sources.json`` (source freshness; ``expected_sources`` adds rows with
    status ``runtime error`` for sources dbt left out, see the module doc).
    ``run_id`` ties the rows to the pipeline run (the Airflow run id),
    ``command`` records what ran (e.g. ``build``, ``source freshness``).
    Idempotent per invocation: rows are upserted on (invocation_id, node).
    Does not commit; the caller's transaction does (``db.connection``).

    Returns ``{"invocation_id", "command", "nodes", "statuses": {status: count}}``.
    """
    invocation_id = artifact_invocation_id(run_results)
    generated_at = (run_results.get("metadata") or {}).get("generated_at")
    freshness = is_freshness_artifact(run_results)
    rows = []
    if freshness:
        for result in freshness_results(run_results, expected_sources):
            status = str(result.get("status"))
            rows.append((
                run_id, invocation_id, command, result["unique_id"], "source", status,
                result.get("execution_time"), None, None,
                _freshness_message(result) if status != "pass" else None,
                as_of, completed_at(result, result.get("snapshotted_at") or generated_at),
            ))
    else:
        for result in run_results.get("results") or []:
            failures = result.get("failures")
            message = result.get("message")
            rows.append((
                run_id, invocation_id, command, result["unique_id"], resource_type(result["unique_id"]),
                str(result.get("status")), result.get("execution_time"), rows_affected(result),
                int(failures) if isinstance(failures, int) else None,
                str(message)[:MESSAGE_LIMIT] if message is not None else None,
                as_of, completed_at(result, generated_at),
            ))
    if rows:
        with conn.cursor() as cur:
            psycopg2.extras.execute_values(
                cur,
                """
                insert into audit.dbt_node_results
                    (run_id, invocation_id, command, node, resource_type, status, execution_seconds,
                     rows_affected, failures, message, as_of_date, completed_at)
                values %s
                on conflict (invocation_id, node) do update set
                    run_id = excluded.run_id,
                    command = excluded.command,
                    resource_type = excluded.resource_type,
                    status = excluded.status,
                    execution_seconds = excluded.execution_seconds,
                    rows_affected = excluded.rows_affected,
                    failures = excluded.failures,
                    message = excluded.message,
                    as_of_date = excluded.as_of_date,
                    completed_at = excluded.completed_at
                """,
                rows,
                template="(%s, %s, %s, %s, %s, %s, round(%s::numeric, 3), %s, %s, %s, %s, "
                         "coalesce(%s::timestamptz, clock_timestamp()))",
            )
    statuses = Counter(row[5] for row in rows)
    summary = {"invocation_id": invocation_id, "command": command, "nodes": len(rows), "statuses": dict(statuses)}
    log.info("dbt %s results (invocation %s): %s", command, invocation_id, summary)
    return summary


def _tested_relation(result: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(schema.table, column) of a node: a model's own relation; what a test checks, from the manifest
    when given, else (generic tests) from the compiled SQL."""
    unique_id = result["unique_id"]
    if resource_type(unique_id) in ("model", "seed", "snapshot"):
        # the node's own relation: "db"."schema"."table" → schema.table
        parts = [part.strip('"') for part in str(result.get("relation_name") or "").split(".")]
        return (".".join(parts[-2:]) if len(parts) >= 2 else node_name(unique_id)), None
    if manifest:
        nodes = manifest.get("nodes") or {}
        node = nodes.get(unique_id) or (manifest.get("unit_tests") or {}).get(unique_id) or {}
        # a generic test is attached to the model it checks; a singular one reads several
        parent_ids = [node["attached_node"]] if node.get("attached_node") else (node.get("depends_on") or {}).get("nodes") or []
        parents = [nodes[parent_id] for parent_id in parent_ids if parent_id in nodes]
        if parents:
            relations = [f"{parent.get('schema')}.{parent.get('alias') or parent.get('name')}" for parent in parents]
            return ", ".join(relations), node.get("column_name")
        if node.get("model"):  # unit tests name their model
            return str(node["model"]), None
    if resource_type(unique_id) == "unit_test":
        return unique_id.split(".")[2] if len(unique_id.split(".")) > 2 else None, None
    if resource_type(unique_id) == "test" and not is_singular_test(unique_id):
        match = _RELATION.search(result.get("compiled_code") or "")
        if match:
            return f"{match.group(1)}.{match.group(2)}", None
    return None, None


def _test_severity(result: Mapping[str, Any]) -> str | None:
    """The alert severity of a node result, or None when it raises no alert (see the module doc)."""
    status = str(result.get("status"))
    kind = resource_type(result["unique_id"])
    if status in ("success", "pass", "skipped", "no-op", "partial success"):
        return None
    if kind == "test":
        if status == "warn":
            return "medium"
        if status == "fail":
            name = node_name(result["unique_id"])
            if is_singular_test(result["unique_id"]) or name.startswith(GRAIN_TESTS):
                return "critical"
            return "high"
        return "high"  # error: the test could not run
    if status == "warn":
        return "medium"
    return "high"  # a failing unit test, a model / seed / snapshot that failed to build


def alerts_from_run_results(
    run_results: Mapping[str, Any],
    as_of: date | None,
    *,
    manifest: Mapping[str, Any] | None = None,
    links: Mapping[str, str] | None = None,
) -> list[Alert]:
    """``test_failure`` alerts for the failed, warned or errored nodes of a parsed run_results.json.

    Severity by node and test type (module doc). ``manifest`` (parsed
    manifest.json, optional) names the tested model and column precisely;
    without it a generic test's table comes from its compiled SQL and a
    singular test has none. ``links`` (unique id → URL, optional): where the
    node's log is read (its task in the Airflow UI), ended to the message.
    Returns [] for a sources.json (use
    :func:`alerts_from_freshness`).
    """
    if is_freshness_artifact(run_results):
        return []
    scope = as_of.isoformat() if as_of else artifact_invocation_id(run_results)
    alerts = []
    for result in run_results.get("results") or []:
        severity = _test_severity(result)
        if severity is None:
            continue
        unique_id = result["unique_id"]
        kind = resource_type(unique_id).replace("_", " ")
        table_name, column_name = _tested_relation(result, manifest)
        failures = result.get("failures")
        detail = str(result.get("message") or "").strip() or "no message"
        if kind in ("test", "unit test"):
            what = f"dbt {'singular ' if is_singular_test(unique_id) else ''}{kind} {node_name(unique_id)}"
        else:
            what = f"dbt {kind} {node_name(unique_id)}"
        alerts.append(Alert(
            alert_type="test_failure",
            message=_with_link(f"{what}: {result.get('status')} ({detail})", (links or {}).get(unique_id)),
            severity=severity,
            table_name=table_name or node_name(unique_id),
            column_name=column_name,
            threshold=0 if isinstance(failures, int) else None,
            actual_value=float(failures) if isinstance(failures, int) else None,
            as_of_date=as_of,
            dedup_key=f"test_failure:{scope}:{unique_id}:{severity}",
        ))
    return alerts


def _with_link(message: str, link: str | None) -> str:
    """The message cut to MESSAGE_LIMIT with the link kept whole at its end."""
    if not link:
        return message[:MESSAGE_LIMIT]
    suffix = f"\n    log: {link}"
    return message[:MESSAGE_LIMIT - len(suffix)] + suffix


def alerts_from_freshness(
    sources_json: Mapping[str, Any],
    as_of: date | None,
    *,
    expected_sources: Iterable[str] | None = None,
) -> list[Alert]:
    """``freshness`` alerts for the stale source tables of a parsed sources.json.

    warn → medium, error → high, runtime error → high; ``threshold`` is the
    limit passed in hours (warn_after for warn, error_after for error) and
    ``actual_value`` the age of the newest load in hours. ``expected_sources``:
    see the module doc (sources dbt left out count as runtime errors).
    """
    scope = as_of.isoformat() if as_of else artifact_invocation_id(sources_json)
    alerts = []
    for result in freshness_results(sources_json, expected_sources):
        status = str(result.get("status"))
        severity = FRESHNESS_SEVERITY.get(status)
        if severity is None:
            continue
        criteria = result.get("criteria") or {}
        threshold = threshold_hours(criteria.get("warn_after" if status == "warn" else "error_after"))
        age_s = result.get("max_loaded_at_time_ago_in_s")
        alerts.append(Alert(
            alert_type="freshness",
            message=_freshness_message(result),
            severity=severity,
            table_name=node_name(result["unique_id"]),
            threshold=threshold,
            actual_value=round(float(age_s) / 3600, 2) if age_s is not None else None,
            as_of_date=as_of,
            dedup_key=f"freshness:{scope}:{result['unique_id']}:{severity}",
        ))
    return alerts


def record_dbt_artifact(
    artifact: Mapping[str, Any] | str | Path,
    *,
    run_id: str,
    as_of: date | None,
    command: str,
    manifest: Mapping[str, Any] | str | Path | None = None,
    conn_id: str | None = None,
    links: Mapping[str, str] | None = None,
) -> dict:
    """Everything for one dbt invocation in one transaction: node rows, then its alerts; returns a summary.

    ``artifact``: run_results.json or sources.json (parsed or a path);
    ``manifest`` (parsed or a path, optional): names tested models precisely
    and, for freshness, which sources must have a result (module doc): every
    source with a freshness config, so run ``dbt source freshness`` unselected.
    ``links``: see :func:`alerts_from_run_results`.
    Opens its own connection to the warehouse (``conn_id``, default
    ``warehouse``) and commits. The summary is :func:`record_run_results`'s
    plus ``alerts`` (found) and ``new_alerts`` (recorded now, not seen before).
    """
    from meridian import db
    from meridian.config import WAREHOUSE_CONN_ID

    results = load_artifact(artifact)
    parsed_manifest = load_artifact(manifest) if manifest is not None else None
    expected = freshness_sources(parsed_manifest) if parsed_manifest and is_freshness_artifact(results) else None
    if is_freshness_artifact(results):
        alerts = alerts_from_freshness(results, as_of, expected_sources=expected)
    else:
        alerts = alerts_from_run_results(results, as_of, manifest=parsed_manifest, links=links)
    with db.connection(conn_id or WAREHOUSE_CONN_ID) as conn:
        summary = record_run_results(conn, results, run_id=run_id, as_of=as_of, command=command,
                                     expected_sources=expected)
        summary["alerts"] = len(alerts)
        summary["new_alerts"] = record_alerts(conn, alerts)
    return summary
