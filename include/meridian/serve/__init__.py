"""Serving the marts to their readers: tenant-isolated BI roles (row-level security) and the KPI API.

Sits above ``warehouse``, ``db`` and ``config`` (docs/contributing.md, layering); imports only downward.
"""
