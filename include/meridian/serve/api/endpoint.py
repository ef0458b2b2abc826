"""What an endpoint is (declared as data) and what its handler gets (a Context)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

import psycopg2.extras

from meridian.config import ApiSettings
from meridian.serve.api.params import DateRange, Param, resolve_range


@dataclass
class Context:
    tenant_id: str
    as_of: date
    args: dict[str, Any]
    cur: psycopg2.extras.RealDictCursor
    settings: ApiSettings
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        """Rows of a query; ``%(tenant)s`` and ``%(as_of)s`` are always bound."""
        self.cur.execute(sql, {"tenant": self.tenant_id, "as_of": self.as_of, **(params or {})})
        return [dict(row) for row in self.cur.fetchall()]

    def one(self, sql: str, params: dict | None = None) -> dict:
        found = self.rows(sql, params)
        return found[0] if found else {}

    def range(self, default_days: int = 30) -> DateRange:
        return resolve_range(self.args, self.as_of, self.settings.max_range_days, default_days)

    @cached_property
    def currency(self) -> str | None:
        return self.one("select currency from marts.dim_tenants where tenant_id = %(tenant)s").get("currency")


@dataclass(frozen=True)
class Endpoint:
    path: str
    handler: Callable[[Context], Any]
    summary: str
    params: tuple[Param, ...] = ()
    group: str = "default"  # rate-limit group
    method: str = "GET"
    cache: bool = True
    tag: str = "kpis"
    status: int = 200
    scoped: bool = True  # False: reads no mart, runs as the API's own role (report jobs in security.*)


def num(value: Any) -> Any:
    """Decimals as JSON numbers; None stays None."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def pct(value: Any) -> float | None:
    """A fraction as a percentage with two decimals (0.6533 → 65.33)."""
    if value is None:
        return None
    return round(float(value) * 100, 2)


def ratio_pct(numerator: Any, denominator: Any) -> float | None:
    if not denominator:
        return None
    return round(100 * float(numerator or 0) / float(denominator), 2)


def money(value: Any) -> float:
    return round(float(value or 0), 2)


def clean(row: dict, rates: tuple[str, ...] = ()) -> dict:
    """A row for JSON: Decimals as numbers, dates as ISO text, the named fraction columns as percentages."""
    out = {}
    for key, value in row.items():
        if key == "tenant_id":
            continue
        if key in rates or key.endswith("_rate"):
            out[key] = pct(value)
        elif isinstance(value, Decimal):
            out[key] = float(value)
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out
