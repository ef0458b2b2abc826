"""Serving the marts: per-tenant row-level security (``rls``) and the KPI read API (``api``)."""
