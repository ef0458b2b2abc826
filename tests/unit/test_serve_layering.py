"""Imports run one way (docs/contributing.md rule 15, 17): the serving layer uses the layers below it and never the demo tooling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "meridian"
SERVE_MAY_IMPORT = {"serve", "reports", "delivery", "smtp", "warehouse", "db", "config", "runtime", "sources"}


def meridian_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            if name.startswith("meridian."):
                found.add(name.split(".")[1])
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "serve").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_serve_imports_only_the_layers_below(path):
    assert meridian_imports(path) <= SERVE_MAY_IMPORT


def test_the_product_never_imports_the_demo_tooling():
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if path.parts[len(PACKAGE.parts)] not in ("demo", "cli.py") and "demo" in meridian_imports(path)]
    assert not offenders
