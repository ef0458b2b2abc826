"""An index of the project's nodes by the plain names dbt's node selection matches, for the in-process dbt runs.

An incremental run hands dbt its plan as names: the selector's criteria, the
tests over touched rows (``--select``) and the nodes whose output cannot change
(``--exclude``), 70 to 200 names. dbt resolves a name by its ``fqn`` method,
which tests the name against every node of the project: about 600 nodes and
their ``fqn`` per name, and dbt does it for each of its selection passes. That
was 0.5 s of every run's start, under one GIL, before the first node ran
(the same for a run with one hour of data as for a day).

For a plain name (no ``.`` and no wildcard ``* ? [ ]``) dbt's rule is short:
the name matches a node when it is the node's own name (for a versioned model,
its name or ``name_vN``), the package, or the node's top folder
(``is_selected_node`` over the fqn and over the fqn without its package). So
each node is reachable from at most five names. :func:`install` wraps the
``fqn`` method's ``search``: a plain name is looked up in an index of those
names, built once per manifest, each candidate confirmed by dbt's own
``node_is_match``; a name with a dot or a wildcard goes to dbt's search as
before. The nodes found and their order are dbt's
(tests/unit/test_name_index.py compares both over the whole project).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WILDCARDS = frozenset("*?[]")
_cache: dict[str, Any] = {}  # the last manifest indexed and its index: one parsed manifest per process


def is_plain(selector: str) -> bool:
    """A name dbt's fqn method matches without wildcards or dotted paths."""
    return "." not in selector and not WILDCARDS.intersection(selector)


def _candidate_names(fqn: list[str], is_versioned: bool) -> set[str]:
    """Every plain name that could select a node with this fqn (a superset: each is confirmed by dbt)."""
    names = {fqn[-1]}
    if len(fqn) > 1:
        names.add(fqn[-2])
        if is_versioned:
            names.add("_".join(fqn[-2:]))
    for part in (fqn[:1], fqn[1:2]):  # the package, and the top folder once the package is dropped
        if part:
            names.add(part[0].split(".")[0])
    return names


def _fingerprint(method: Any) -> tuple[int, ...]:
    manifest = method.manifest
    return (id(manifest), *(len(getattr(manifest, name, ()) or ()) for name in
                            ("nodes", "exposures", "metrics", "unit_tests", "semantic_models", "saved_queries",
                             "functions")))


def _index(method: Any, matches: Any) -> dict[str, list[str]]:
    """Plain name -> the unique ids of the non-source nodes it selects, in dbt's order."""
    fingerprint = _fingerprint(method)
    if _cache.get("fingerprint") == fingerprint and _cache.get("manifest") is method.manifest:
        return _cache["index"]
    index: dict[str, list[str]] = {}
    everything = _Everything()
    for unique_id, node in method.non_source_nodes(everything):
        for name in _candidate_names(node.fqn, node.is_versioned):
            if matches(method, name, node.fqn, node.is_versioned):
                index.setdefault(name, []).append(unique_id)
    _cache.update(fingerprint=fingerprint, manifest=method.manifest, index=index)
    return index


class _Everything:
    """``included_nodes`` that holds every node: the index covers the whole manifest."""

    def __contains__(self, item: object) -> bool:
        return True


def _indexed_search(original: Any) -> Any:
    def search(self: Any, included_nodes: set, selector: str) -> Iterator[Any]:
        if not is_plain(selector):
            yield from original(self, included_nodes, selector)
            return
        matches = type(self).node_is_match
        for unique_id in _index(self, matches).get(selector, ()):
            if unique_id in included_nodes:
                yield unique_id

    search.meridian_original = original  # type: ignore[attr-defined]
    return search


def install() -> None:
    """Resolve plain names of dbt's ``fqn`` selection method through the index, in this process."""
    from dbt.graph.selector_methods import QualifiedNameSelectorMethod

    if not hasattr(QualifiedNameSelectorMethod.search, "meridian_original"):
        QualifiedNameSelectorMethod.search = _indexed_search(QualifiedNameSelectorMethod.search)
