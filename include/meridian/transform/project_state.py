"""Has the dbt project changed under the incremental tables since the last successful build?

An incremental model keeps the rows earlier runs wrote. When its SQL, its
configuration, a macro it uses, or any model, seed or snapshot it reads from
changed since the build that wrote them, the kept rows are the old project's:
an incremental run would fail (``on_schema_change='fail'`` when the columns
changed: "column ... does not exist") or, worse, mix the old definition's rows
with the new one's. Such a run must rebuild those models from scratch.

:func:`project_state` digests, from the manifest the run parsed, every model,
seed and snapshot: its file checksum, the configuration that shapes its table,
its table's declared shape (column types, constraints, and the row invariants
its contract makes check constraints: dbt_project/macros/invariants/
row_invariant_constraints.sql), and the code of every macro it calls
(transitively). The build records the
digests of a successful run in ``audit.transform_runs.project_state``;
:func:`incremental_models_changed` compares the next run's with them and names
the incremental models that are changed or lie downstream of a change. The
vars (the as-of instant) are not part of a digest: they change every run and
the incremental models are written for that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

BUILT_TYPES = ("model", "seed", "snapshot")
# the configuration that decides what the table is and how a run writes it
SHAPING_CONFIG = (
    "materialized", "unique_key", "incremental_strategy", "on_schema_change", "contract", "full_refresh",
    "database", "schema", "alias", "strategy", "updated_at", "check_cols", "column_types", "indexes",
    "partition_by",
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _macro_digester(manifest: Mapping[str, Any]) -> Callable[[str], str]:
    """Per macro: its code together with the code of every macro it calls, transitively (memoized per call)."""
    macros = manifest.get("macros", {})
    closed: dict[str, str] = {}

    def digest(uid: str) -> str:
        if uid not in closed:
            reached, stack = set(), [uid]
            while stack:  # depth-first over the calls; a macro reached twice is read once
                current = stack.pop()
                if current in reached or current not in macros:
                    continue
                reached.add(current)
                stack.extend(macros[current].get("depends_on", {}).get("macros", []))
            closed[uid] = _sha("".join(sorted(_sha(macros[member].get("macro_sql", "")) for member in reached)))
        return closed[uid]

    return digest


def row_invariants(manifest: Mapping[str, Any]) -> dict[str, list[list[str | None]]]:
    """Per model, the ``[column_name, expression]`` of each expression_is_true test attached without a ``where``.

    What dbt_project/macros/invariants/row_invariant_constraints.sql makes check constraints of a contracted
    table, so a changed invariant changes the table's shape.
    """
    found: dict[str, list[list[str | None]]] = {}
    for node in manifest.get("nodes", {}).values():
        test = node.get("test_metadata") or {}
        if test.get("name") != "expression_is_true" or node.get("config", {}).get("where"):
            continue
        kwargs = test.get("kwargs", {})
        found.setdefault(node.get("attached_node"), []).append([kwargs.get("column_name"), kwargs.get("expression")])
    return {uid: sorted(checks, key=json.dumps) for uid, checks in found.items()}


def _table_shape(node: Mapping[str, Any], invariants: list[list[str | None]]) -> list[Any] | None:
    """What a contracted table is declared to be: its column types and constraints, its model constraints and
    row invariants. None without an enforced contract: dbt then creates the table from its SQL alone."""
    if not (node.get("config", {}).get("contract") or {}).get("enforced"):
        return None
    columns = {name: [column.get("data_type"), column.get("constraints", [])]
               for name, column in node.get("columns", {}).items()}
    return [columns, node.get("constraints", []), invariants]


def project_state(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The digest of every model, seed and snapshot of the parsed project, by unique id."""
    macro_digest = _macro_digester(manifest)
    invariants = row_invariants(manifest)
    state = {}
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in BUILT_TYPES:
            continue
        config = node.get("config", {})
        shaping = {key: config.get(key) for key in SHAPING_CONFIG if key in config}
        used = sorted(macro_digest(macro) for macro in node.get("depends_on", {}).get("macros", []))
        state[uid] = _sha(json.dumps(
            [node.get("checksum", {}).get("checksum"), shaping, _table_shape(node, invariants.get(uid, [])), used],
            sort_keys=True, default=str))
    return state


def manifest_facts(manifest: Any) -> dict[str, Any]:
    """What the project state and the run's selection read, from dbt's parsed ``Manifest`` object.

    The same fields, in the same shape, as ``manifest.json`` (nodes, macros,
    sources, parent_map), without serializing the whole manifest: writing
    manifest.json after a partial parse that changed nothing was most of the
    parse's cost, and reading it back a second large part.
    """
    def node_facts(node: Any) -> dict[str, Any]:
        kind = node.resource_type
        return {
            "name": node.name,
            "resource_type": getattr(kind, "value", kind),
            "schema": node.schema,
            "alias": getattr(node, "alias", None),
            "raw_code": getattr(node, "raw_code", "") or "",
            # a generic data test's model, seed or snapshot (None for other nodes)
            "attached_node": getattr(node, "attached_node", None),
            "checksum": {"checksum": node.checksum.checksum},
            "config": node.config.to_dict(omit_none=False),
            "depends_on": {"nodes": list(getattr(node.depends_on, "nodes", [])),
                           "macros": list(node.depends_on.macros)},
            # a contracted table's declared shape (project_state)
            "columns": {name: {"data_type": column.data_type,
                               "constraints": [constraint.to_dict() for constraint in column.constraints]}
                        for name, column in getattr(node, "columns", {}).items()},
            "constraints": [constraint.to_dict() for constraint in getattr(node, "constraints", [])],
            # a generic data test's name (not_null, expression_is_true...): what ``test_name:`` selects on;
            # its arguments: an expression_is_true test's are a row invariant (row_invariants)
            **({"test_metadata": {"name": node.test_metadata.name, "kwargs": node.test_metadata.kwargs}}
               if getattr(node, "test_metadata", None) else {}),
        }

    nodes = {uid: node_facts(node) for uid, node in manifest.nodes.items()}
    return {
        "nodes": nodes,
        "macros": {uid: {"macro_sql": macro.macro_sql, "depends_on": {"macros": list(macro.depends_on.macros)}}
                   for uid, macro in manifest.macros.items()},
        "sources": {uid: {"schema": source.schema, "name": source.name, "identifier": source.identifier}
                    for uid, source in manifest.sources.items()},
        "parent_map": {uid: node["depends_on"]["nodes"] for uid, node in nodes.items()},
    }


def is_incremental(node: Mapping[str, Any]) -> bool:
    return node.get("resource_type") == "model" and node.get("config", {}).get("materialized") == "incremental"


def incremental_models_changed(previous: Mapping[str, str] | None, manifest: Mapping[str, Any]) -> list[str]:
    """The incremental models whose own definition or any upstream model, seed or snapshot changed.

    ``previous`` is the state recorded by the last successful build; ``None`` (a
    build before states were recorded) counts every incremental model as changed.
    A node absent from ``previous`` is new: it counts as changed too.
    """
    nodes = manifest.get("nodes", {})
    incremental = sorted(uid for uid, node in nodes.items() if is_incremental(node))
    if previous is None:
        return incremental
    current = project_state(manifest)
    modified = {uid for uid, digest in current.items() if previous.get(uid) != digest}
    parents = manifest.get("parent_map", {})
    upstream_modified: dict[str, bool] = {}

    def touched(uid: str) -> bool:
        if uid not in upstream_modified:
            upstream_modified[uid] = False  # cycles cannot occur in a dbt graph; this only stops re-entry
            upstream_modified[uid] = uid in modified or any(
                touched(parent) for parent in parents.get(uid, []) if parent in current)
        return upstream_modified[uid]

    return [uid for uid in incremental if touched(uid)]


def describe_change(models: list[str], limit: int = 5) -> str:
    """The plan reason for a full refresh caused by a project change, naming the models."""
    names = [uid.rsplit(".", 1)[-1] for uid in models]
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"project changed since the last successful build: incremental model(s) {shown} changed or read " \
           f"a changed model, seed or snapshot"
