"""The model lineage read from the SQL files (meridian.transform.model_graph) on a small project of its own.

tests/e2e/test_model_tasks.py compares the graph of the real project with dbt's manifest; these cases pin
the ways a model reaches its parents through the project's macros.
"""

from __future__ import annotations

from pathlib import Path

from meridian.transform.model_graph import read_models

MACROS = {
    "spines/spine.sql": "{% macro spine() %}select * from {{ ref('coverage') }}{% endmacro %}",
    # a scaffold that calls the spine macro: its callers depend on what the spine refs
    "incremental/scaffold.sql": "{% macro scaffold() -%}\ndays as ({{ spine() }}),\n{%- endmacro %}",
    # a shared query handed the model it checks against
    "landing/validated.sql": "{% macro validated(table, reference=none) %}select * from {{ table }}"
                             "{% if reference %} join {{ ref(reference) }} using (id){% endif %}{% endmacro %}",
}
MODELS = {
    "coverage": "select 1 as id",
    "payments": "select 1 as id",
    "direct": "with days as ({{ spine() }}) select * from days",
    "nested": "with {{ scaffold() }} final as (select * from days) select * from final",
    "refunds": "{{ validated('raw.refunds', reference='payments') }}",
    "plain": "{{ validated('raw.plans') }} -- 'no_such_model' is no model",
}


def project(root: Path) -> Path:
    for relative, text in MACROS.items():
        (root / "macros" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "macros" / relative).write_text(text)
    (root / "models" / "marts").mkdir(parents=True)
    for name, text in MODELS.items():
        (root / "models" / "marts" / f"{name}.sql").write_text(text)
    return root


def test_parents_through_macros_at_any_depth_and_by_argument(tmp_path):
    models = read_models(project(tmp_path))
    assert {name: model.parents for name, model in models.items()} == {
        "coverage": (),
        "payments": (),
        "direct": ("coverage",),
        "nested": ("coverage",),  # scaffold -> spine -> ref('coverage')
        "refunds": ("payments",),  # the quoted model name handed to a macro that refs it
        "plain": (),  # the same macro without a model to ref; a quoted name that is no model is ignored
    }
