"""dbt's fqn selection of plain names through an index (meridian.transform.name_index) finds what dbt finds.

The comparison runs over the real project: every name a node can be selected by
(its name, its folders, the package), names that select nothing, and names
with dots and wildcards (which go to dbt's own search), with every node
included and with a part of them.
"""

from __future__ import annotations

import pytest
from dbt.graph.selector_methods import QualifiedNameSelectorMethod

from meridian.transform import name_index
from meridian.transform.dbt_run import Dbt


@pytest.fixture(scope="module")
def method(test_env, tmp_path_factory) -> QualifiedNameSelectorMethod:
    dbt = Dbt(target=tmp_path_factory.mktemp("dbt") / "target")
    dbt.ensure_parsed(write_json=False)
    return QualifiedNameSelectorMethod(dbt.manifest, None, [])


def dbt_search(method, included, selector) -> list[str]:
    original = getattr(QualifiedNameSelectorMethod.search, "meridian_original", QualifiedNameSelectorMethod.search)
    return list(original(method, included, selector))


def names(method) -> set[str]:
    found = {"no_such_node", "meridian.marts", "marts.product.*", "fct_*", "stg_app__event?", "*",
             "meridian.fct_daily_kpis", "[fs]ct_sessions", ""}
    for node in method.manifest.nodes.values():
        found.update(node.fqn)
        found.update(".".join(node.fqn[:n]) for n in range(1, len(node.fqn) + 1))
        found.add(node.name)
    for unit_test in method.manifest.unit_tests.values():
        found.update(unit_test.fqn)
    return found


def test_the_index_selects_what_dbt_selects(method):
    name_index.install()
    everything = set(method.manifest.nodes) | set(method.manifest.unit_tests) | set(method.manifest.sources)
    some = {uid for n, uid in enumerate(sorted(everything)) if n % 3}
    candidates = names(method)
    assert len(candidates) > 500
    plain = 0
    for included in (everything, some):
        for selector in sorted(candidates):
            expected = dbt_search(method, included, selector)
            assert list(method.search(included, selector)) == expected, selector
            plain += name_index.is_plain(selector) and bool(expected)
    assert plain > 400  # most names went through the index, and selected something


def test_a_plain_name_is_answered_from_the_index(method, monkeypatch):
    name_index.install()
    monkeypatch.setattr(name_index, "_cache", {})
    assert list(method.search(set(method.manifest.nodes), "fct_daily_kpis")) == ["model.meridian.fct_daily_kpis"]
    assert name_index._cache["manifest"] is method.manifest
    # answered from the index: the nodes are not matched again
    monkeypatch.setattr(QualifiedNameSelectorMethod, "node_is_match", lambda *args: pytest.fail("searched"))
    assert list(method.search(set(method.manifest.nodes), "fct_sessions")) == ["model.meridian.fct_sessions"]


@pytest.mark.parametrize("selector,plain", [("fct_x", True), ("marts.fct_x", False), ("fct_*", False),
                                            ("fct_?", False), ("[ab]", False), ("", True)])
def test_what_counts_as_a_plain_name(selector, plain):
    assert name_index.is_plain(selector) is plain


def test_install_wraps_once():
    name_index.install()
    first = QualifiedNameSelectorMethod.search
    name_index.install()
    assert QualifiedNameSelectorMethod.search is first
