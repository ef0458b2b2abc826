"""Meridian: extract, transform and report on multi-tenant product data."""

__version__ = "0.1.0"
