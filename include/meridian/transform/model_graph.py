"""The dbt project's models and their lineage, read from the SQL files without running dbt.

``transform_warehouse`` has a task per model whose dependencies follow dbt's:
the DAG file needs the models and their ``ref()`` edges at parse time, when no
dbt parse may run (it takes seconds and the DAG processor parses often). The
model files are read instead: every ``models/**/*.sql`` is a model named like
its file, and its parents are the models it refs, directly or through the
project macros it calls at any depth (``tenant_spine`` refs
``int_tenant_coverage``; a macro given a quoted model name to ref makes that
name a parent), or through a ref built in Jinja (``ref(name)`` over a list of quoted model
names, ``ref('base_' ~ source ~ '__' ~ table)`` over quoted pieces).
Refs to seeds and snapshots are not model edges (they are built by the same
``dbt build`` first). tests/e2e/test_model_tasks.py compares this graph with
dbt's own manifest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
# a ref built in Jinja: ref(model) over a list of names, or ref('base_' ~ source ~ '__' ~ table)
_VARIABLE_REF = re.compile(r"""\bref\(\s*(?:['"]([A-Za-z0-9_]*)['"]\s*~|[A-Za-z_])""")
_QUOTED = re.compile(r"""['"]([A-Za-z0-9_]+)['"]""")
_MACRO = re.compile(r"{%-?\s*macro\s+([A-Za-z0-9_]+)\s*\(")
_CALL = re.compile(r"\b([A-Za-z0-9_]+)\s*\(")


@dataclass(frozen=True)
class Model:
    name: str
    path: str  # relative to the project, e.g. models/marts/fct_daily_kpis.sql
    layer: str  # staging, intermediate, marts, audit (the folder under models/)
    parents: tuple[str, ...]


# a macro that refs a name it is given (ref(reference), ref(model ~ ...)): its callers' quoted names may be models
_ARGUMENT_REF = re.compile(r"""\bref\(\s*[A-Za-z_]""")


@dataclass(frozen=True)
class _MacroRefs:
    refs: dict[str, set[str]]  # macro name -> the models it refs, through the project macros it calls at any depth
    by_argument: set[str]  # macros that ref a name given to them, directly or through a macro they call


def _macro_refs(project_dir: Path) -> _MacroRefs:
    """What each project macro refs, following the project macros it calls (``hourly_rebuild_scaffold`` calls
    ``tenant_spine``, which refs ``int_tenant_coverage``)."""
    own: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    by_argument: set[str] = set()
    for path in sorted((project_dir / "macros").rglob("*.sql")):
        text = path.read_text()
        # split the file into its macros: each body runs to the next macro start
        starts = [(match.start(), match.group(1)) for match in _MACRO.finditer(text)]
        for index, (start, name) in enumerate(starts):
            end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
            body = text[start:end]
            own[name] = set(_REF.findall(body))
            calls[name] = set(_CALL.findall(body))
            if _ARGUMENT_REF.search(body):
                by_argument.add(name)

    def closure(name: str, seen: frozenset[str] = frozenset()) -> tuple[set[str], bool]:
        refs, argument = set(own.get(name, ())), name in by_argument
        for called in calls.get(name, set()) & set(own):
            if called not in seen and called != name:
                more, more_argument = closure(called, seen | {name})
                refs |= more
                argument = argument or more_argument
        return refs, argument

    resolved = {name: closure(name) for name in own}
    return _MacroRefs(refs={name: refs for name, (refs, _) in resolved.items() if refs},
                      by_argument={name for name, (_, argument) in resolved.items() if argument})


def _built_refs(prefix: str, quoted: set[str], names: Iterable[str]) -> set[str]:
    """The models a Jinja-built ref can name: quoted in the file whole, or as ``prefix`` + quoted pieces joined by ``__``."""
    found = set()
    for name in names:
        if not name.startswith(prefix):
            continue
        if name in quoted or all(piece in quoted for piece in name[len(prefix):].split("__")):
            found.add(name)
    return found


def read_models(project_dir: Path) -> dict[str, Model]:
    """Every model of the project by name, with the models it depends on (sorted)."""
    macro_refs = _macro_refs(project_dir)
    sources = {path.stem: path for path in sorted((project_dir / "models").rglob("*.sql"))}
    models = {}
    for name, path in sources.items():
        text = path.read_text()
        refs = set(_REF.findall(text))
        quoted = set(_QUOTED.findall(text))
        for match in _VARIABLE_REF.finditer(text):
            refs |= _built_refs(match.group(1) or "", quoted, sources)
        called = set(_CALL.findall(text))
        for macro in called & set(macro_refs.refs):
            refs |= macro_refs.refs[macro]
        if called & macro_refs.by_argument:
            # a model name quoted in the file and handed to a macro that refs it (reference='base_x')
            refs |= quoted & set(sources)
        relative = path.relative_to(project_dir)
        models[name] = Model(
            name=name, path=str(relative), layer=relative.parts[1] if len(relative.parts) > 2 else "",
            parents=tuple(sorted(ref for ref in refs if ref in sources and ref != name)),
        )
    return models


@cache
def project_models(project_dir: Path) -> dict[str, Model]:
    """:func:`read_models` once per process (the DAG processor re-imports the DAG file; the files rarely change)."""
    return read_models(project_dir)


def depths(models: dict[str, Model]) -> dict[str, int]:
    """Each model's depth in the lineage: 0 for models that ref no model, else 1 + the deepest parent's."""
    found: dict[str, int] = {}

    def depth(name: str, path: tuple[str, ...] = ()) -> int:
        if name in path:
            raise ValueError(f"dbt models ref each other in a cycle: {' -> '.join((*path, name))}")
        if name not in found:
            parents = models[name].parents
            found[name] = 1 + max(depth(parent, (*path, name)) for parent in parents) if parents else 0
        return found[name]

    for name in models:
        depth(name)
    return found
