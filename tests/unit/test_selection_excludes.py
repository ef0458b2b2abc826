"""The incremental run names in ``--exclude`` only the left-out data tests its ``--select`` can pick.

dbt matches every name of ``--exclude`` against every node of the project
(twice per build), so 184 names, most of them tests no criterion of the
``incremental_run`` selector selects, cost about a second of start-up.
:func:`meridian.transform.selection.selectable_tests` is a superset of what
the selector picks; the second test checks with dbt's own selection, on the
real project, that the shorter list selects exactly the same nodes.
"""

from __future__ import annotations

from pathlib import Path

from meridian.transform.dbt_run import Dbt, incremental_criteria, incremental_definition
from meridian.transform.project_state import manifest_facts, project_state
from meridian.transform.selection import select_nodes, selectable_tests


def generic(name: str, test: str, path: str) -> tuple[str, dict]:
    return f"test.meridian.{name}.0a1b2c", {"name": name, "resource_type": "test", "original_file_path": path,
                                            "test_metadata": {"name": test}}


def singular(name: str) -> tuple[str, dict]:
    return f"test.meridian.{name}", {"name": name, "resource_type": "test"}


MANIFEST = {"nodes": dict([
    generic("not_null_stg_id", "not_null", "models/staging/_staging__models.yml"),
    generic("expression_is_true_fct_x", "expression_is_true", "models/marts/_marts__models.yml"),
    generic("continues_previous_row_fct_y", "continues_previous_row", "models/marts/_marts__models.yml"),
    singular("assert_totals_agree"),
    ("model.meridian.fct_x", {"name": "fct_x", "resource_type": "model"}),
])}


def picked(definition: dict) -> set[str]:
    return {uid.split(".")[2] for uid in selectable_tests(MANIFEST, definition)}


def test_the_tests_a_selector_definition_can_pick():
    models = {"method": "resource_type", "value": "model"}
    assert picked(models) == set()  # with --indirect-selection empty a model criterion picks no test
    assert picked({"method": "test_type", "value": "singular"}) == {"assert_totals_agree"}
    assert picked({"method": "test_type", "value": "generic"}) == {
        "not_null_stg_id", "expression_is_true_fct_x", "continues_previous_row_fct_y"}
    assert picked({"method": "test_name", "value": "expression_*"}) == {"expression_is_true_fct_x"}
    # an intersection picks at most what its test criteria pick; a path alone could pick any test
    assert picked({"intersection": [{"method": "test_name", "value": "expression_is_true"},
                                    {"method": "path", "value": "models/staging"}]}) == {"expression_is_true_fct_x"}
    assert picked({"method": "path", "value": "models/marts"}) == {
        "not_null_stg_id", "expression_is_true_fct_x", "continues_previous_row_fct_y", "assert_totals_agree"}
    assert picked({"union": [models, {"method": "test_name", "value": "continues_previous_row"},
                             {"method": "test_type", "value": "singular"}]}) == {
        "continues_previous_row_fct_y", "assert_totals_agree"}
    assert picked({"union": [models, {"method": "tag", "value": "nightly"}]}) == picked({"method": "path", "value": "x"})
    assert picked(incremental_definition()) == {
        "expression_is_true_fct_x", "continues_previous_row_fct_y", "assert_totals_agree"}


def test_dbt_selects_the_same_nodes_with_the_shorter_exclude_list(test_env, tmp_path: Path):
    """The real project, every node left out that can be (nothing new since a build of this very project)."""
    dbt = Dbt(target=tmp_path / "target")
    dbt.ensure_parsed(write_json=False)
    facts = manifest_facts(dbt.manifest)
    existing = [uid for uid, node in facts["nodes"].items() if node["resource_type"] in ("model", "seed")]
    selection = select_nodes(facts, project_state(facts), set(), existing)
    every, shorter = selection.exclude(), selection.exclude(selectable_tests(facts, incremental_definition()))
    assert len(shorter) < len(every) / 2, (len(shorter), len(every))

    def selected(exclude: tuple[str, ...]) -> list[str]:
        result = dbt.invoke(["ls", "--resource-type", "all", "--exclude-resource-type", "unit_test",
                             "--output", "name", "--quiet", "--select", *incremental_criteria(),
                             *selection.include(), "--indirect-selection", "empty", "--exclude", *exclude])
        assert result.success, result.exception
        return sorted(result.result)

    chosen = selected(shorter)
    assert chosen == selected(every)
    assert any(name.startswith("expression_is_true_") for name in chosen)  # the selector's tests are there
