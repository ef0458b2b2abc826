"""The dbt docs plugin: its app serves the published docs folder inside the Airflow API server.

The app is taken from the plugin exactly as Airflow loads it (plugins/meridian_dbt_docs.py) and mounted
at the plugin's url_prefix on a parent app, as the API server mounts it; the docs folder is a temp dir
given by MERIDIAN_DBT_DOCS_DIR, the rule the transform DAG publishes by.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FILE = ROOT / "plugins" / "meridian_dbt_docs.py"

INDEX_HTML = "<!doctype html><html><head><title>dbt Docs</title></head><body>dbt docs of meridian</body></html>"
MANIFEST = {
    "metadata": {"dbt_version": "1.11.0"},
    "nodes": {"model.meridian.fct_daily_kpis": {"name": "fct_daily_kpis"}},
}
CATALOG = {"metadata": {"dbt_version": "1.11.0"}, "nodes": {}, "sources": {}}


@pytest.fixture(scope="module")
def plugin(test_env: dict[str, str]) -> Any:
    spec = importlib.util.spec_from_file_location("meridian_dbt_docs_plugin", PLUGIN_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MeridianDbtDocsPlugin()


@pytest.fixture()
def docs_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    monkeypatch.setenv("MERIDIAN_DBT_DOCS_DIR", str(folder))
    return folder


def _client(plugin: Any, *, logged_in: bool = True) -> Iterator[Any]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from meridian import docs_site

    (entry,) = plugin.fastapi_apps
    app = entry["app"]
    parent = FastAPI()
    parent.mount(entry["url_prefix"], app)
    if logged_in:
        app.dependency_overrides[docs_site.docs_access_dependency()] = lambda: None
    try:
        with TestClient(parent) as client:
            yield client
    finally:
        app.dependency_overrides.clear()


@pytest.fixture()
def client(plugin: Any) -> Iterator[Any]:
    yield from _client(plugin)


def test_plugin_mounts_the_app_and_links_it_in_the_nav(plugin: Any) -> None:
    (entry,) = plugin.fastapi_apps
    assert entry["url_prefix"] == "/dbt-docs"
    (view,) = plugin.external_views
    assert view["name"] == "dbt docs"
    assert view["destination"] == "nav"
    # relative to the UI's base URL (no leading slash) and ending in a slash, so the site's relative
    # fetches of manifest.json and catalog.json resolve under the mount
    assert view["href"] == "dbt-docs/"
    assert view["url_route"]


def test_serves_the_generated_site(client: Any, docs_folder: Path) -> None:
    (docs_folder / "index.html").write_text(INDEX_HTML)
    (docs_folder / "manifest.json").write_text(json.dumps(MANIFEST))
    (docs_folder / "catalog.json").write_text(json.dumps(CATALOG))

    page = client.get("/dbt-docs/")
    assert page.status_code == 200
    assert page.text == INDEX_HTML
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert client.get("/dbt-docs/index.html").text == INDEX_HTML

    manifest = client.get("/dbt-docs/manifest.json")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/json")
    assert manifest.json() == MANIFEST
    assert client.get("/dbt-docs/catalog.json").json() == CATALOG

    # a new generation is served at once (files are read on each request)
    (docs_folder / "manifest.json").write_text(json.dumps({**MANIFEST, "nodes": {}}))
    assert client.get("/dbt-docs/manifest.json").json()["nodes"] == {}


def test_explains_docs_not_generated_yet(client: Any, docs_folder: Path) -> None:
    page = client.get("/dbt-docs/")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "have not been generated yet" in page.text
    assert "transform_warehouse" in page.text  # the DAG that generates them
    assert str(docs_folder) in page.text
    assert client.get("/dbt-docs/manifest.json").status_code == 404


def test_missing_folder_is_the_not_generated_page(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERIDIAN_DBT_DOCS_DIR", str(tmp_path / "never-created"))
    page = client.get("/dbt-docs/")
    assert page.status_code == 404
    assert "transform_warehouse" in page.text


def test_serves_only_files_of_the_docs_folder(client: Any, docs_folder: Path) -> None:
    (docs_folder / "index.html").write_text(INDEX_HTML)
    (docs_folder / ".env").write_text("SECRET=1")
    (docs_folder.parent / "outside.txt").write_text("not docs")
    (docs_folder / "sub").mkdir()
    (docs_folder / "sub" / "x.json").write_text("{}")
    assert client.get("/dbt-docs/.env").status_code == 404
    assert client.get("/dbt-docs/..%2Foutside.txt").status_code == 404
    assert client.get("/dbt-docs/sub/x.json").status_code == 404
    assert client.get("/dbt-docs/sub").status_code == 404


def test_needs_an_airflow_login(plugin: Any, docs_folder: Path) -> None:
    (docs_folder / "index.html").write_text(INDEX_HTML)
    for client in _client(plugin, logged_in=False):
        assert client.get("/dbt-docs/").status_code == 401
        assert client.get("/dbt-docs/manifest.json").status_code == 401
