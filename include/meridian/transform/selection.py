"""What an incremental run builds: the nodes whose output can differ from the last successful build's.

An incremental run at instant T follows the selector ``incremental_run``
(dbt_project/selectors.yml) minus the nodes that would write exactly what they
already hold. A node is left out only when all of these hold:

- its code is the one the last successful build ran (the digests of
  :func:`meridian.transform.project_state.project_state`: file, shaping config,
  the macros it calls);
- its SQL does not read the run's instant: no ``var(...)`` (as_of, as_of_date,
  late_arrival_days), no ``now()``, ``current_date``, ``current_timestamp``,
  ``run_started_at``... in its own code or in any macro it calls, transitively;
- none of its inputs changed: a source changed when the project's own batch log
  says so (:func:`changed_sources`: a batch the last build did not see, or
  rows that were after its instant), a model, seed or snapshot when this run
  builds it;
- its relation exists in the warehouse;
- a view also stays when what it reads changed, as long as nothing it reads is
  dropped and created again this run: a ``table`` or ``view`` that is rebuilt
  is swapped in and the old relation dropped with ``cascade``, which drops the
  views on it; an incremental model, a seed (truncated and reloaded) or a
  snapshot (merged) keeps its relation, and a source is never dropped.

Snapshots always run (their validity timestamps are the run's instant). A data
test is left out when every model, seed or snapshot it reads is left out. The
full-refresh runs build everything; this selection applies to incremental runs.

Besides the selector's tests, an incremental run runs the generic data tests
of every model whose ``meta.tested_rows`` says which of its rows a run touched
(:func:`touched_row_tests`); they read only those rows
(dbt_project/macros/testing/tested_rows_condition.sql).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatch
from typing import Any

from meridian.transform.project_state import project_state

BUILT_TYPES = ("model", "seed", "snapshot")
# what makes SQL depend on the run rather than on its inputs alone
RUN_DEPENDENT = re.compile(
    r"\bvar\s*\(|\bnow\s*\(|\bcurrent_date\b|\bcurrent_timestamp\b|\blocaltimestamp\b|\bclock_timestamp\b"
    r"|\bstatement_timestamp\b|\btransaction_timestamp\b|\brun_started_at\b|\binvocation_id\b|\bmodules\.datetime\b",
    re.IGNORECASE,
)
# ``key < as-of instant``: over raw sources its result changes only with the batches (changed_sources)
VISIBILITY_MACROS = ("macro.meridian.extraction_key_visible",)
RAW_SOURCE_PREFIX = "source.meridian.raw."
# materializations whose rebuild drops the old relation with cascade (and the views on it)
REPLACED = ("table", "view")
# sources the pipeline writes on every run: always changed
ALWAYS_CHANGED_SCHEMAS = ("audit",)

UNCHANGED_VIEW = "view: code unchanged, reads nothing rebuilt this run"
NO_NEW_INPUT = "no new input: code unchanged, instant-independent, no new batch upstream"


@dataclass(frozen=True)
class Selection:
    """The run's built nodes and the ones left out, with why (unique ids)."""

    built: tuple[str, ...]
    left_out: Mapping[str, str] = field(default_factory=dict)  # unique id -> reason
    tests_left_out: tuple[str, ...] = ()
    changed_sources: tuple[str, ...] = ()
    # generic tests added over the touched rows of their model (touched_row_tests)
    tests_on_touched_rows: tuple[str, ...] = ()

    def include(self) -> tuple[str, ...]:
        """The data tests the run adds to its selector's (``dbt build --select``), by name; none left out."""
        left_out = set(self.tests_left_out)
        return tuple(sorted(_name(uid) for uid in self.tests_on_touched_rows if uid not in left_out))

    def exclude(self, selectable: Iterable[str] | None = None) -> tuple[str, ...]:
        """The nodes for ``dbt build --exclude`` (models, seeds and tests), by name.

        ``selectable``: the data tests the run's ``--select`` can pick at all (:func:`selectable_tests`); a
        left-out test outside them is not named, as excluding it changes nothing (dbt matches every name of
        ``--exclude`` against every node of the project, so each name costs start-up time). None: name them all.
        """
        tests = self.tests_left_out if selectable is None else sorted(set(self.tests_left_out) & set(selectable))
        return tuple(sorted(_name(uid) for uid in [*self.left_out, *tests]))

    def record(self) -> dict[str, Any]:
        """What audit.transform_runs.selection keeps: counts, the left-out nodes by reason, the changed sources."""
        by_reason: dict[str, list[str]] = {}
        for uid, reason in sorted(self.left_out.items()):
            by_reason.setdefault(reason, []).append(_name(uid))
        return {
            "built": len(self.built),
            "left_out": len(self.left_out),
            "tests_left_out": len(self.tests_left_out),
            "tests_on_touched_rows": len(self.include()),
            "by_reason": by_reason,
            "changed_sources": [_name(uid) for uid in self.changed_sources],
        }

    def describe(self) -> str:
        record = self.record()
        reasons = "; ".join(f"{len(names)} {reason} ({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
                            for reason, names in record["by_reason"].items())
        return (f"{record['built']} model/seed/snapshot node(s) selected, {record['left_out']} left out"
                f"{': ' + reasons if reasons else ''}; data tests on left-out nodes only excluded "
                f"({record['tests_left_out']}); {record['tests_on_touched_rows']} data test(s) over the touched rows; "
                f"sources with new data: {', '.join(record['changed_sources']) or 'none'}")


def _name(uid: str) -> str:
    # model.meridian.fct_x -> fct_x, test.meridian.not_null_x_id.0a1b2c -> not_null_x_id (unique in the project),
    # source.meridian.raw.t -> raw.t
    parts = uid.split(".")
    return ".".join(parts[2:]) if parts[0] == "source" else parts[2]


def _macro_reads_run(manifest: Mapping[str, Any]):
    """``reads(uid, reads_raw)``: whether the macro, or a macro it calls at any depth, reads the run. For a node
    that reads a raw source (``reads_raw``) the visibility macros do not count, whether the node calls them or a
    shared macro of the base models does."""
    macros = manifest.get("macros", {})
    memo: dict[tuple[str, bool], bool] = {}

    def reads(uid: str, reads_raw: bool = False) -> bool:
        if reads_raw and uid in VISIBILITY_MACROS:
            return False
        key = (uid, reads_raw)
        if key not in memo:
            memo[key] = False  # a recursive macro is read once
            macro = macros.get(uid, {})
            memo[key] = bool(RUN_DEPENDENT.search(macro.get("macro_sql", ""))) or any(
                reads(called, reads_raw) for called in macro.get("depends_on", {}).get("macros", []))
        return memo[key]

    return reads


def reads_the_run(node: Mapping[str, Any], macro_reads_run) -> bool:
    """True when the node's SQL (or a macro it calls) reads the run's instant, vars or clock.

    A model that reads a raw source filters it with the visibility macro (the
    row's extraction key before the instant; the base models, the one place
    the project applies it, directly or through their shared landing macros):
    what that shows changes only with the source's batches, which
    :func:`changed_sources` judges.
    """
    reads_raw = any(parent.startswith(RAW_SOURCE_PREFIX) for parent in node.get("depends_on", {}).get("nodes", []))
    return bool(RUN_DEPENDENT.search(node.get("raw_code", ""))) or any(
        macro_reads_run(macro, reads_raw) for macro in node.get("depends_on", {}).get("macros", []))


def touched_row_tests(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The generic data tests of the models, seeds and snapshots whose ``meta.tested_rows`` names their touched rows.

    An incremental run runs them over those rows only (the ``get_where_subquery``
    override of dbt_project/macros/testing/); a full refresh runs them over
    every row, with every other data test.
    """
    nodes = manifest.get("nodes", {})
    return tuple(sorted(
        uid for uid, node in nodes.items()
        if node.get("resource_type") == "test" and (attached := node.get("attached_node")) in nodes
        and (nodes[attached].get("config", {}).get("meta") or {}).get("tested_rows")
    ))


def select_nodes(
    manifest: Mapping[str, Any],
    previous_state: Mapping[str, str] | None,
    changed: Iterable[str],
    existing: Iterable[str],
) -> Selection:
    """The incremental run's selection (pure): ``changed`` source ids, ``existing`` node ids with a relation."""
    nodes = manifest.get("nodes", {})
    changed_sources = set(changed)
    existing_nodes = set(existing)
    current = project_state(manifest)
    macro_reads_run = _macro_reads_run(manifest)
    built: dict[str, bool] = {}  # this run builds it
    dirty: dict[str, bool] = {}  # its rows can differ from the last build's

    def visit(uid: str) -> None:
        if uid in built:
            return
        node = nodes[uid]
        parents = [parent for parent in node.get("depends_on", {}).get("nodes", []) if parent in nodes
                   and nodes[parent].get("resource_type") in BUILT_TYPES]
        for parent in parents:
            visit(parent)
        sources = [parent for parent in node.get("depends_on", {}).get("nodes", [])
                   if parent.startswith("source.")]
        own = (previous_state is None or previous_state.get(uid) != current.get(uid)
               or node.get("resource_type") == "snapshot" or reads_the_run(node, macro_reads_run)
               or uid not in existing_nodes)
        input_changed = any(dirty[parent] for parent in parents) or any(s in changed_sources for s in sources)
        dirty[uid] = own or input_changed
        if node.get("config", {}).get("materialized") == "view":
            # a view shows its inputs' rows live: re-created only for itself or when what it reads is replaced
            built[uid] = own or any(built[parent] and nodes[parent].get("config", {}).get("materialized")
                                    in REPLACED for parent in parents)
        else:
            built[uid] = dirty[uid]

    candidates = sorted(uid for uid, node in nodes.items() if node.get("resource_type") in BUILT_TYPES)
    for uid in candidates:
        visit(uid)
    left_out = {uid: (UNCHANGED_VIEW if nodes[uid].get("config", {}).get("materialized") == "view"
                      else NO_NEW_INPUT)
                for uid in candidates if not built[uid]}
    tests = sorted(
        uid for uid, node in nodes.items()
        if node.get("resource_type") == "test"
        and (parents := [p for p in node.get("depends_on", {}).get("nodes", []) if p in nodes])
        and all(parent in left_out for parent in parents)
    )
    return Selection(built=tuple(uid for uid in candidates if built[uid]), left_out=left_out,
                     tests_left_out=tuple(tests), changed_sources=tuple(sorted(changed_sources)),
                     tests_on_touched_rows=touched_row_tests(manifest))


def selectable_tests(manifest: Mapping[str, Any], definition: Mapping[str, Any]) -> set[str]:
    """The data tests a selectors.yml ``definition`` can select directly, a superset: by its ``test_type`` and
    ``test_name`` criteria; an intersection is at most its test-specific members' picks, a union all of its
    members'; ``resource_type`` of models, seeds or snapshots picks no test (the incremental run selects with
    ``--indirect-selection empty``); any other criterion (``path``, ``tag``...) alone could pick any test.
    """
    tests = {uid: node for uid, node in manifest.get("nodes", {}).items() if node.get("resource_type") == "test"}

    def picks(member: Mapping[str, Any]) -> set[str] | None:  # None: any test
        if "union" in member:
            parts = [picks(item) for item in member["union"]]
            return None if any(part is None for part in parts) else set().union(*parts)
        if "intersection" in member:
            parts = [part for part in (picks(item) for item in member["intersection"]) if part is not None]
            return set.intersection(*parts) if parts else None
        method, value = member.get("method"), str(member.get("value"))
        if method == "resource_type":
            return None if value == "test" else set()
        if method == "test_name":
            return {uid for uid, node in tests.items()
                    if "test_metadata" in node and fnmatch(node["test_metadata"]["name"], value)}
        if method == "test_type":
            kinds = {"singular": False, "generic": True}
            if value not in kinds:
                return None
            return {uid for uid, node in tests.items() if ("test_metadata" in node) == kinds[value]}
        return None

    chosen = picks(definition)
    return set(tests) if chosen is None else chosen


def batches_seen(cur: Any) -> dict[str, list[int]]:
    """Per raw table (``source__table``): how many batches that landed rows are visible now, and the highest id.

    Taken by each build before dbt reads anything and kept with the run
    (``audit.transform_runs.batches_seen``). A batch row is committed with its
    rows and never deleted, and ``landed`` is final once it is visible, so a
    later count or id that differs means a batch the build could not see; a
    batch committed between this look and dbt's reads is counted as new by the
    next run (one run built for nothing, never a change missed).
    """
    cur.execute("select source || '__' || table_name, count(*), max(batch_id) from audit.batches "
                "where landed > 0 group by 1")
    return {table: [int(count), int(highest)] for table, count, highest in cur.fetchall()}


def changed_sources(
    cur: Any,
    manifest: Mapping[str, Any],
    seen_now: Mapping[str, list[int]],
    seen_before: Mapping[str, list[int]] | None,
    last_instant: datetime | None,
    since: datetime | None,
) -> set[str]:
    """The sources whose visible rows may differ from what the last successful build read.

    That build started at ``since``, saw the batches ``seen_before``
    (:func:`batches_seen`) and built up to the instant ``last_instant``. From
    the project's own logs, not dbt's source freshness: a ``raw`` table changed
    when

    - a batch of it that landed rows is new (``seen_now`` differs), or
    - a batch of it that landed rows has its window end after ``last_instant``:
      its rows have extraction keys before the window end, so some may have
      been invisible to that build (key at or after its instant) and be visible
      now, or
    - the raw retention purged rows of it since ``since`` (audit.raw_purges).

    ``history`` tables change with a purge of the raw table they keep;
    ``audit`` tables change on every run. A source of any other schema counts
    as changed. Without a last build (or one that recorded no batches): every
    source changed.
    """
    sources = manifest.get("sources", {})
    if seen_before is None or last_instant is None or since is None:
        return set(sources)
    new = {table for table in set(seen_now) | set(seen_before)
           if list(seen_now.get(table, [])) != list(seen_before.get(table, []))}
    cur.execute("select distinct source || '__' || table_name from audit.batches "
                "where landed > 0 and window_end > %s", (last_instant,))
    later_keys = {row[0] for row in cur.fetchall()}
    cur.execute("select to_regclass('audit.raw_purges') is not null")
    purged: set[str] = set()
    if cur.fetchone()[0]:
        cur.execute("select distinct table_name from audit.raw_purges where purged_at >= %s", (since,))
        purged = {row[0].split(".")[-1] for row in cur.fetchall()}
    changed = set()
    for uid, source in sources.items():
        schema, table = source.get("schema"), source.get("identifier") or source.get("name")
        if schema == "raw":
            hit = table in new or table in later_keys or table in purged
        elif schema == "history":
            hit = table in purged
        else:
            hit = True
        if hit or schema in ALWAYS_CHANGED_SCHEMAS:
            changed.add(uid)
    return changed


def existing_nodes(cur: Any, manifest: Mapping[str, Any]) -> set[str]:
    """The models and seeds of ``manifest`` whose relation exists in the warehouse (snapshots always run)."""
    nodes = [(uid, node.get("schema"), node.get("alias") or node.get("name"))
             for uid, node in manifest.get("nodes", {}).items() if node.get("resource_type") in ("model", "seed")]
    if not nodes:
        return set()
    cur.execute(
        "select wanted.uid from unnest(%s::text[], %s::text[], %s::text[]) as wanted(uid, schema_name, rel_name) "
        "join pg_namespace as ns on ns.nspname = wanted.schema_name "
        "join pg_class as rel on rel.relnamespace = ns.oid and rel.relname = wanted.rel_name",
        ([uid for uid, _, _ in nodes], [schema for _, schema, _ in nodes], [name for _, _, name in nodes]),
    )
    return {row[0] for row in cur.fetchall()}


def selector_criteria(definition: Mapping[str, Any]) -> list[str]:
    """A selectors.yml definition of unions and intersections of ``method: value`` as ``--select`` arguments.

    ``--exclude`` does not combine with ``--selector``, so a run that leaves
    nodes out selects the same nodes by criteria: a union is a list of
    arguments, an intersection joins its members with commas (distributed over
    a union inside it). The incremental selector sets ``indirect_selection:
    empty`` on its resource types; the command passes ``--indirect-selection
    empty`` for all (its other criteria select tests directly, which indirect
    selection does not change).
    """
    if "union" in definition:
        return [criterion for member in definition["union"] for criterion in selector_criteria(member)]
    if "intersection" in definition:
        combined = [""]
        for member in definition["intersection"]:
            combined = [f"{left},{right}" if left else right for left in combined for right in selector_criteria(member)]
        return combined
    if {"method", "value"} <= set(definition) and set(definition) <= {"method", "value", "indirect_selection"}:
        return [f"{definition['method']}:{definition['value']}"]
    raise ValueError(f"selectors.yml: cannot express {dict(definition)!r} as --select criteria "
                     "(only method/value, union and intersection)")
