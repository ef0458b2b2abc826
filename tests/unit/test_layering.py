"""Imports run one way (docs/architecture.md, "The Python package"; docs/contributing.md rules 15 and 17).

Every module of ``include/meridian``, ``dags/`` and ``plugins/`` belongs to a
unit (a subpackage such as ``meridian.reports``, or a top-level module such as
``meridian.smtp``), and every unit to a layer of :data:`LAYERS`. A unit may
import the units of the layers below its own; inside a layer only the uses in
:data:`SIDEWAYS` are allowed; a tooling unit is imported only by the units
:data:`ONLY_USED_BY` names. Module-level and function-level imports count
alike; imports under ``if TYPE_CHECKING:`` are exempt (they never run). No two
modules may import each other, directly or through others (a circle). A few
units are held to a narrower list (:data:`NARROWER`), and no renderer names a
report type.

A failure names the importing file and line, the module imported and the rule
it breaks. To fix one, move what both sides need a layer down rather than
adding to :data:`SIDEWAYS`; a new package needs its place in :data:`LAYERS` and
in the table of docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "meridian"

# top to bottom; a unit uses the layers below its own
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry points", ("dags", "plugins", "cli")),
    ("tooling", ("demo", "devtools")),
    ("local stack", ("services", "airflow_client", "mailsink")),
    ("pipeline steps", ("extract", "transform", "quality", "reports", "delivery", "serve", "docs_site")),
    ("shared services", ("warehouse", "sources", "smtp", "airflow_env", "assets")),
    ("foundations", ("db", "config", "runtime", "values", "__init__")),
)
# the uses allowed between units of one layer: unit -> the units it may use
SIDEWAYS: dict[str, set[str]] = {
    "devtools": {"demo"},  # the benchmarks run on generated demo data
    "services": {"airflow_client", "mailsink"},  # the local Airflow stack: its REST client, the SMTP sink
    "transform": {"quality"},  # the transform DAG records dbt results and runs the data-quality checks
    "delivery": {"reports"},  # delivery renders report types and mails them
    "serve": {"reports", "delivery"},  # the API renders report jobs and mails them
    "docs_site": {"transform"},  # the docs site serves what the transform publishes
    "warehouse": {"sources"},  # raw tables are built from the source contract
    "db": {"config"},  # connections are read from the settings
}
# tooling sits beside the top: the product never imports it
ONLY_USED_BY: dict[str, set[str]] = {"demo": {"cli", "devtools"}, "devtools": {"cli"}}
# units held to fewer imports than their layer allows: unit -> the modules (and their submodules) it may use
NARROWER: dict[str, tuple[str, ...]] = {
    # report types, loader and renderers know no schedule, mail, warehouse DDL or API
    "reports": ("meridian.values", "meridian.config", "meridian.db", "meridian.warehouse.reporting"),
    "smtp": ("meridian.config",),  # a transport that knows no report
    # the serving layer reads the marts and renders report jobs; it runs no extract, transform or quality step
    "serve": ("meridian.reports", "meridian.delivery", "meridian.smtp", "meridian.warehouse", "meridian.db",
              "meridian.config", "meridian.runtime", "meridian.sources"),
}
REPORT_TYPE_NAME = re.compile(r"[\"'](revenue_summary|user_analytics|payments|sales|customer_success|"
                              r"tournament_performance|executive|comprehensive)[\"']")

LAYER_OF = {unit: index for index, (_, units) in enumerate(LAYERS) for unit in units}


@dataclass(frozen=True)
class Import:
    path: Path  # the importing file
    line: int
    module: str  # the meridian module imported, resolved to a module file where it names one

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def source_files() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *(ROOT / "dags").glob("*.py"), *(ROOT / "plugins").glob("*.py")])


def module_name(path: Path) -> str:
    if path.is_relative_to(PACKAGE):
        parts = ("meridian", *path.relative_to(PACKAGE).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def unit_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "meridian":
        return parts[0]  # dags, plugins
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif _type_checking_only(node):
            for child in node.orelse:  # the else branch of "if TYPE_CHECKING:" runs
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]))
        else:
            yield from _import_nodes(node)


def imports_of(path: Path) -> list[Import]:
    found = []
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif node.level == 0 and node.module:
            # "from meridian.x import y" imports the module meridian.x.y when there is one
            names = [f"{node.module}.{alias.name}" if _is_module(f"{node.module}.{alias.name}") else node.module
                     for alias in node.names]
        else:
            raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: relative import; write the full "
                                 "meridian.<package> path so the layering check can read it")
        found += [Import(path, node.lineno, name) for name in names if name.split(".")[0] == "meridian"]
    return list(dict.fromkeys(found))  # "from meridian.x import a, b" is one import of meridian.x


ALL_IMPORTS = {path: imports_of(path) for path in source_files()}


def broken_rule(importer: str, imported: Import) -> str | None:
    """Why ``importer`` (a module) may not import ``imported``; None when it may."""
    user, used = unit_of(importer), unit_of(imported.module)
    if user == used:
        return None
    if used in ONLY_USED_BY and user not in ONLY_USED_BY[used]:
        return f"{used} is tooling, used only by {', '.join(sorted(ONLY_USED_BY[used]))}"
    if user in NARROWER and not any(imported.module == allowed or imported.module.startswith(allowed + ".")
                                    for allowed in NARROWER[user]):
        return f"{user} may use only {', '.join(NARROWER[user])}"
    if LAYER_OF[used] > LAYER_OF[user]:
        return None
    if LAYER_OF[used] == LAYER_OF[user]:
        if used in SIDEWAYS.get(user, set()):
            return None
        return (f"{user} and {used} are both {LAYERS[LAYER_OF[user]][0]} and {user} -> {used} is not in SIDEWAYS "
                "(move what both need a layer down)")
    return f"{user} ({LAYERS[LAYER_OF[user]][0]}) may not use {used} ({LAYERS[LAYER_OF[used]][0]}), a layer above"


def test_every_unit_has_a_layer():
    units = {unit_of(module_name(path)) for path in source_files()}
    assert not units - LAYER_OF.keys(), f"place these in LAYERS (docs/architecture.md): {sorted(units - LAYER_OF.keys())}"


def test_imports_run_down_the_layers():
    broken = [f"{imported.where()} imports {imported.module}: {rule}"
              for path, found in ALL_IMPORTS.items() for imported in found
              if (rule := broken_rule(module_name(path), imported)) is not None]
    assert not broken, "imports against the layers:\n" + "\n".join(broken)


def circles(imports: dict[str, list[Import]]) -> list[list[Import]]:
    """Every circle of module imports (importing module -> its imports), one per strongly connected set."""
    edges: dict[str, dict[str, Import]] = {}
    for module, found in imports.items():
        for imported in found:
            if imported.module != module:
                edges.setdefault(module, {}).setdefault(imported.module, imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(component)

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return [_shortest_circle(edges, sorted(component)) for component in components]


def _shortest_circle(edges: dict[str, dict[str, Import]], members: list[str]) -> list[Import]:
    """The shortest circle through the first of ``members`` (a strongly connected set), as its imports."""
    start, inside = members[0], set(members)
    came_from: dict[str, str] = {}
    queue = [start]
    for module in queue:  # breadth first: the queue grows while it is read
        for target in sorted(edges.get(module, {})):
            if target == start:
                walk = [module]
                while walk[-1] != start:
                    walk.append(came_from[walk[-1]])
                walk.reverse()
                return [edges[a][b] for a, b in zip([*walk], [*walk[1:], start], strict=True)]
            if target in inside and target not in came_from:
                came_from[target] = module
                queue.append(target)
    raise AssertionError(f"{members} is not a circle")


def test_no_circle():
    shown = ["\n  -> ".join(f"{imported.where()} imports {imported.module}" for imported in circle)
             for circle in circles({module_name(path): found for path, found in ALL_IMPORTS.items()})]
    assert not shown, "modules that import each other:\n" + "\n".join(shown)


@pytest.mark.parametrize("path", sorted((PACKAGE / "reports" / "render").rglob("*.py")), ids=lambda p: p.name)
def test_renderers_name_no_report_type(path):
    code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    body = ast.get_docstring(ast.parse(code)) or ""
    assert not REPORT_TYPE_NAME.search(code.replace(body, ""))


# the check itself: each rule fails on the edge it is there for
@pytest.mark.parametrize(("importer", "imported", "expected"), [
    ("meridian.warehouse.bootstrap", "meridian.delivery.schema", "a layer above"),
    ("meridian.extract.drift", "meridian.quality.alerts", "not in SIDEWAYS"),
    ("meridian.serve.api.kpis", "meridian.demo.generate", "tooling"),
    ("dags.extract_sources", "meridian.devtools.bench", "tooling"),
    ("meridian.reports.data", "meridian.smtp", "may use only"),
    ("meridian.db", "meridian.warehouse.bootstrap", "a layer above"),
    ("meridian.delivery.deliver", "meridian.reports.data", None),
    ("meridian.cli.local", "meridian.demo.generate", None),
    ("dags.extract_sources", "meridian.extract.run", None),
    ("meridian.reports.model", "meridian.warehouse.reporting", None),
])
def test_the_rules(importer, imported, expected):
    rule = broken_rule(importer, Import(PACKAGE / "x.py", 1, imported))
    assert rule is None if expected is None else expected in rule


def test_function_level_imports_count_and_type_checking_ones_do_not(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from meridian.demo import generate\nelse:\n    import meridian.db\n"
                    "def f():\n    import meridian.smtp\n    from meridian.reports import registry, model\n")
    assert [(found.line, found.module) for found in imports_of(path)] == [
        (5, "meridian.db"), (7, "meridian.smtp"), (8, "meridian.reports.registry"), (8, "meridian.reports.model")]


def test_a_circle_is_found_through_a_third_module():
    def imports(line: int, module: str) -> list[Import]:
        return [Import(PACKAGE / "x.py", line, module)]

    found = circles({"meridian.a": imports(1, "meridian.b"), "meridian.b": imports(2, "meridian.c"),
                     "meridian.c": imports(3, "meridian.a"), "meridian.d": imports(4, "meridian.a")})
    assert [[edge.line for edge in circle] for circle in found] == [[1, 2, 3]]
