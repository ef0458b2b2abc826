"""The dbt docs site served inside the Airflow UI.

The transform DAG runs ``dbt docs generate`` and publishes ``index.html``,
``manifest.json`` and ``catalog.json`` into :func:`docs_dir`. The plugin in
``plugins/meridian_dbt_docs.py`` mounts :func:`create_app` on the Airflow API
server at :data:`URL_PREFIX` and adds a "dbt docs" entry to the UI's navigation
that shows it in a frame.

The app serves the files of that folder as they are on each request (a new
generation shows up without a restart), and a page saying which DAG generates
the docs while the folder has no ``index.html`` yet. Every request needs an
Airflow user allowed to see the docs view (the auth manager's ``DOCS`` view);
the browser's Airflow session cookie carries it inside the UI.

FastAPI and the Airflow API modules are imported only when the app is built, so
loading the plugin in a scheduler or worker costs nothing.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

DOCS_DAG_ID = "transform_warehouse"  # the DAG whose run generates and publishes the docs
URL_PREFIX = "/dbt-docs"  # where the app is mounted on the Airflow API server
NAV_NAME = "dbt docs"

# the page may be framed by the Airflow UI (same origin) and by nothing else
FRAME_HEADERS = {"Content-Security-Policy": "frame-ancestors 'self'", "X-Content-Type-Options": "nosniff"}


def docs_dir() -> Path:
    """The folder the transform DAG publishes the docs into: ``MERIDIAN_DBT_DOCS_DIR``, else <state dir>/dbt/docs."""
    # the DAG's own rule, read on each request (imported here: the plugin module stays light to load)
    from meridian.transform.dbt_docs import docs_dir as published_docs_dir

    return published_docs_dir()


def docs_file(folder: Path, name: str) -> Path | None:
    """The file ``name`` directly inside ``folder``, or None (hidden names, sub-paths and missing files)."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        return None
    path = folder / name
    try:
        if path.resolve().parent != folder.resolve() or not path.is_file():
            return None
    except OSError:
        return None
    return path


def not_generated_page(folder: Path) -> str:
    """The page shown while the folder holds no generated docs."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dbt docs: not generated yet</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 46rem; padding: 0 1.5rem;
         color: #1f2933; line-height: 1.5; }}
  code {{ background: #f0f2f5; padding: 0.1rem 0.3rem; border-radius: 3px; }}
  .note {{ border-left: 4px solid #d9822b; padding: 0.2rem 1rem; background: #fff8f0; }}
</style>
</head>
<body>
<h1>dbt docs have not been generated yet</h1>
<p class="note">The <code>{DOCS_DAG_ID}</code> DAG generates them: each run builds the warehouse with dbt,
then runs <code>dbt docs generate</code> and publishes the site here.</p>
<p>Trigger <code>{DOCS_DAG_ID}</code> from the Dags page (or wait for its next scheduled run), then reload this
page.</p>
<p>Looked for <code>index.html</code> in <code>{html.escape(str(folder))}</code>
(set <code>MERIDIAN_DBT_DOCS_DIR</code> to publish and serve them elsewhere).</p>
</body>
</html>
"""


@cache
def docs_access_dependency() -> Any:
    """The FastAPI dependency every request of the app needs: an Airflow user allowed to see the docs view."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view

    return requires_access_view(AccessView.DOCS)


def create_app() -> FastAPI:
    """The FastAPI app that serves :func:`docs_dir` (mounted at :data:`URL_PREFIX` by the plugin)."""
    from fastapi import Depends, FastAPI
    from fastapi.responses import FileResponse, HTMLResponse, Response

    app = FastAPI(
        title="Meridian dbt docs",
        dependencies=[Depends(docs_access_dependency())],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def serve(name: str) -> Response:
        folder = docs_dir()
        path = docs_file(folder, name)
        if path is None:
            if name == "index.html":
                return HTMLResponse(not_generated_page(folder), status_code=404, headers=FRAME_HEADERS)
            return HTMLResponse(
                f"<p>No {html.escape(name)} in the dbt docs.</p>", status_code=404, headers=FRAME_HEADERS
            )
        # the DAG replaces the files on every run: the browser asks again each time
        return FileResponse(path, headers={**FRAME_HEADERS, "Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return serve("index.html")

    @app.get("/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        return serve(name)

    return app
