"""The KPI read API (docs/api.md): FastAPI over the marts, per-tenant keys, row-level security.

``create_app()`` builds the app; ``meridian api`` serves it with uvicorn and the
Airflow plugin ``plugins/meridian_api.py`` mounts the same app at ``/meridian``.
"""

from meridian.serve.api.app import create_app

__all__ = ["create_app"]
