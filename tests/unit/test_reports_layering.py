"""Reports, delivery and their benchmarks depend one way (docs/contributing.md rules 15 and 17).

``meridian.reports`` (report types, data, renderers) uses only itself and the
layers below; ``meridian.delivery`` (schedules, mail) uses reports, never the
other way; ``meridian.smtp`` is a transport that knows no report; the
benchmarks in ``meridian.devtools`` are imported by the bench command only;
no renderer names a report type.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "meridian"
REPORTS_MAY_IMPORT = {"reports", "values", "config", "db"}
SMTP_MAY_IMPORT = {"config"}
DEVTOOLS_USERS = {"demo/bench.py"}
REPORT_TYPE_NAME = re.compile(r"[\"'](revenue_summary|user_analytics|payments|sales|customer_success|"
                              r"tournament_performance|executive|comprehensive)[\"']")


def meridian_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        found |= {name.split(".")[1] for name in names if name.startswith("meridian.")}
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("reports"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_reports_import_only_themselves_and_the_layers_below(path):
    assert meridian_imports(path) <= REPORTS_MAY_IMPORT


def test_smtp_knows_no_report():
    assert meridian_imports(PACKAGE / "smtp.py") <= SMTP_MAY_IMPORT


def test_only_the_bench_imports_the_devtools():
    users = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
             if path.parts[len(PACKAGE.parts)] != "devtools" and "devtools" in meridian_imports(path)}
    assert users <= DEVTOOLS_USERS


@pytest.mark.parametrize("path", _modules("reports/render"), ids=lambda p: p.name)
def test_renderers_name_no_report_type(path):
    code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    body = ast.get_docstring(ast.parse(code)) or ""
    assert not REPORT_TYPE_NAME.search(code.replace(body, ""))
