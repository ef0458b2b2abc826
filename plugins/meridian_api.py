"""The KPI read API (docs/api.md) inside the Airflow API server, at ``/meridian/api/v1/...``.

The same app as ``meridian api`` (:func:`meridian.serve.api.create_app`). Airflow
does not authenticate plugin apps: the app checks its own per-tenant bearer keys
(``meridian api-key create``). It connects to the ``warehouse`` connection on its
first request, not when the plugin loads.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/meridian"


class MeridianApiPlugin(AirflowPlugin):
    name = "meridian_api"

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        # built on first use, i.e. only in the API server: other Airflow processes never import FastAPI for it
        from meridian.serve.api import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Meridian KPI API"}]
