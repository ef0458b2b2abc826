"""The dbt docs of the warehouse in the Airflow UI.

Mounts the docs site (:mod:`meridian.docs_site`) on the API server at
``/dbt-docs/`` and adds a "dbt docs" entry to the navigation bar that shows it
inside the UI. The transform DAG generates and publishes the files; until its
first run the page says so.

The plugin reads the same folder rule as the DAG (``MERIDIAN_DBT_DOCS_DIR`` or the state
dir) with no extra Airflow configuration, explains a missing site, and asks for
an Airflow login.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from meridian import docs_site

DOCS_ICON = (
    "data:image/svg+xml;utf8,"
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='%23888' stroke-width='2'"
    " stroke-linecap='round' stroke-linejoin='round'><path d='M4 19.5A2.5 2.5 0 0 1 6.5 17H20'/>"
    "<path d='M6.5 2H20v20H6.5A2.5 2.5 0 0 1 4 19.5v-15A2.5 2.5 0 0 1 6.5 2z'/></svg>"
)


class MeridianDbtDocsPlugin(AirflowPlugin):
    name = "meridian_dbt_docs"

    external_views = [
        {
            "name": docs_site.NAV_NAME,
            # relative to the UI's base URL; the trailing slash makes the site's own relative fetches
            # (manifest.json, catalog.json) resolve under the mount
            "href": docs_site.URL_PREFIX.lstrip("/") + "/",
            "url_route": "dbt-docs",  # shown in a frame at <ui>/plugin/dbt-docs
            "destination": "nav",
            "nav_top_level": True,
            "icon": DOCS_ICON,
        }
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        # built on first use, i.e. only in the API server: other Airflow processes never import FastAPI for it
        return [{"app": docs_site.create_app(), "url_prefix": docs_site.URL_PREFIX, "name": docs_site.NAV_NAME}]
