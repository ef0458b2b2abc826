"""The contracts in docs/ keep up with the code they describe.

- docs/metrics.md has a section per mart (every model of dbt_project/models/marts, by its
  SQL file and its YAML contract) naming every column of the mart's contract;
- docs/sources.md has a section per source table of meridian.sources.schema naming its
  columns, and names every reason code the staging macros can give;
- docs/api.md names every route of the KPI read API's FastAPI app;
- every link between the docs points at a file and a heading that exist;
- no tracked file cites a design note that is not in the repository.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from meridian.sources.schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARTS = ROOT / "dbt_project" / "models" / "marts"
MACROS = ROOT / "dbt_project" / "macros"
CONTRACT_DOCS = ("sources.md", "metrics.md", "api.md", "architecture.md", "contributing.md")


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lowercase, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every heading outside fenced code blocks."""
    found, fenced = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^(#{1,6}) +(.+?) *$", line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


@cache
def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for _, text in headings(path):
        base = anchor(text)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


def section(path: Path, title: str) -> str:
    """The text under the heading ``title`` up to the next heading of the same or a higher level."""
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(#{1,6}) +(.+?) *$", line)
        if match and match.group(2) == title:
            level = len(match.group(1))
            body = []
            for following in lines[index + 1:]:
                deeper = re.match(r"^(#{1,6}) ", following)
                if deeper and len(deeper.group(1)) <= level:
                    break
                body.append(following)
            return "\n".join(body)
    raise AssertionError(f"{path.relative_to(ROOT)} has no heading {title!r}")


@cache
def mart_contracts() -> dict[str, list[str]]:
    """Every mart: its columns from the YAML contract (an empty list for a model without one)."""
    marts: dict[str, list[str]] = {sql.stem: [] for sql in MARTS.rglob("*.sql")}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in MARTS.rglob("*.yml"):
        text = path.read_text()
        if not re.search(r"^models:", text, re.M):
            continue  # unit tests only
        for model in (yaml.load(text, Loader=loader) or {}).get("models") or []:
            marts[model["name"]] = [column["name"] for column in model.get("columns") or []]
    return marts


@cache
def reason_codes() -> frozenset[str]:
    """Every reason code a staging macro can give: the macros' `Reason `code`` docs and their `then 'code'`."""
    codes: set[str] = set()
    for path in MACROS.rglob("*.sql"):
        text = path.read_text()
        codes.update(re.findall(r"Reason `([a-z_]+)`", text))
        codes.update(re.findall(r"then '([a-z_]+)' end", text))
    return frozenset(codes)


def test_the_contracts_exist() -> None:
    for name in CONTRACT_DOCS:
        assert (DOCS / name).is_file(), f"docs/{name} is missing"


def test_the_project_has_marts_and_reason_codes_to_check() -> None:
    # guards the two parsers above: an empty list would make the tests below pass vacuously
    assert len(mart_contracts()) >= 30
    assert {"unknown_tenant", "missing_required", "orphan_reference", "unreadable_file"} <= reason_codes()


@pytest.mark.parametrize("mart", sorted(mart_contracts()))
def test_every_mart_and_column_is_in_metrics_md(mart: str) -> None:
    columns = mart_contracts()[mart]
    assert columns, f"mart {mart} has no columns in a YAML contract under dbt_project/models/marts"
    text = section(DOCS / "metrics.md", mart)
    assert re.search(r"\*\*Grain\*\* \(", text), f"docs/metrics.md, section {mart}: no **Grain** line"
    missing = [column for column in columns if f"`{column}`" not in text]
    assert not missing, f"docs/metrics.md, section {mart}, does not name the columns {missing}"


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.qualified)
def test_every_source_table_and_column_is_in_sources_md(table) -> None:
    text = section(DOCS / "sources.md", table.qualified)
    missing = [column for column in table.column_names if f"`{column}`" not in text]
    assert not missing, f"docs/sources.md, section {table.qualified}, does not name the columns {missing}"


@pytest.mark.parametrize("code", sorted(reason_codes()))
def test_every_reason_code_is_in_sources_md(code: str) -> None:
    text = section(DOCS / "sources.md", "Reason codes")
    assert re.search(rf"^\| `{code}` \|", text, re.M), f"docs/sources.md, Reason codes, has no row for `{code}`"


@cache
def api_routes() -> list[tuple[str, str]]:
    from meridian.serve.api.app import BASE, create_app

    app = create_app()
    routes = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(BASE) or path.startswith(f"{BASE}/docs/"):
            continue  # FastAPI's own helpers (the Swagger UI's static files and oauth redirect)
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method not in ("HEAD", "OPTIONS"):
                routes.append((method, path.removeprefix(BASE)))
    return routes


def test_the_api_has_routes_to_check() -> None:
    paths = {path for _, path in api_routes()}
    assert {"/health", "/kpis/overview", "/payments/metrics", "/analytics/reports/generate"} <= paths


@pytest.mark.parametrize(("method", "path"), api_routes(), ids=lambda value: value)
def test_every_api_route_is_in_api_md(method: str, path: str) -> None:
    text = section(DOCS / "api.md", "Endpoints")
    named = f"`POST {path}`" if method == "POST" else f"`{path}`"
    assert named in text, f"docs/api.md, Endpoints, does not name {method} {path} (as {named})"


def links() -> list[tuple[str, str, str]]:
    """(doc, target file, anchor) of every relative Markdown link in the contract docs."""
    found = []
    for name in CONTRACT_DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", (DOCS / name).read_text()):
            if not re.match(r"[a-z]+://", target):
                file, _, fragment = target.partition("#")
                found.append((name, file or name, fragment))
    return found


@pytest.mark.parametrize(("doc", "file", "fragment"), links())
def test_links_between_the_docs_resolve(doc: str, file: str, fragment: str) -> None:
    target = (DOCS / file).resolve()
    assert target.exists(), f"docs/{doc} links to {file}, which does not exist"
    if fragment:
        assert fragment in anchors(target), f"docs/{doc} links to {file}#{fragment}: no such heading"


OUTSIDE_NOTE = re.compile(r"\b(SOURCES|METRICS|API|ARCHITECTURE|STYLE)\.md\b")


def tracked_text_files() -> list[Path]:
    import subprocess

    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True)
    suffixes = {".py", ".sql", ".yml", ".yaml", ".md", ".txt", ".toml", ".cfg", ".ini", ""}
    return [ROOT / name for name in listed.stdout.splitlines() if Path(name).suffix in suffixes]


def test_no_file_cites_a_design_note_outside_the_repository() -> None:
    """The contracts are docs/*.md: a citation of a note that is not in the repository cannot be followed."""
    citing = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve() or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE_NOTE.search(line):
                citing.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not citing, "cite docs/sources.md, metrics.md, api.md, architecture.md or contributing.md instead:\n" + "\n".join(citing)
