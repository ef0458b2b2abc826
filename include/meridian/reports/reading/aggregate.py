"""How a metric or aggregate combines the rows of a period or group (:data:`~meridian.reports.model.AGGREGATIONS`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from meridian.reports.model import (
    AVG,
    COUNT,
    COUNT_DISTINCT,
    COUNT_ROWS,
    LAST,
    MAX,
    MONEY,
    RATE,
    RATIO,
    SUM,
    TEXT,
    WEIGHTED,
)
from meridian.reports.reading.figures import Row

# --- aggregation ----------------------------------------------------------------------------------

_PLACES = {RATE: Decimal("0.0001"), MONEY: Decimal("0.01")}


def round_to(value: Decimal, kind: str) -> Decimal:
    return value.quantize(_PLACES.get(kind, Decimal("0.01")), rounding=ROUND_HALF_UP)


def _total(rows: list[Row], column: str) -> Any:
    values = [row[column] for row in rows if row.get(column) is not None]
    return sum(values[1:], values[0]) if values else None


def aggregate(rows: list[Row], column: str, function: str, over: tuple[str, ...], kind: str, day_key: str) -> Any:
    """Combine ``column`` of ``rows`` (the rows of one period or group) by ``function``."""
    if not rows:
        return None
    if function == SUM:
        return _total(rows, column)
    if function == LAST:
        latest = max(row[day_key] for row in rows)
        on_day = [row for row in rows if row[day_key] == latest]
        if kind == TEXT:
            return next((row[column] for row in on_day if row.get(column) is not None), None)
        return _total(on_day, column)
    if function == MAX:
        values = [row[column] for row in rows if row.get(column) is not None]
        return max(values) if values else None
    if function == AVG:
        values = [Decimal(row[column]) for row in rows if row.get(column) is not None]
        return round_to(sum(values) / len(values), kind) if values else None
    if function == COUNT_DISTINCT:
        return len({row[column] for row in rows if row.get(column) is not None})
    if function == COUNT_ROWS:
        return sum(1 for row in rows if row.get(column) is not None)
    if function == RATIO:
        numerator = _total(rows, column)
        denominator = sum((Decimal(_total(rows, name) or 0) for name in over), Decimal(0))
        if numerator is None or denominator == 0:
            return None
        return round_to(Decimal(numerator) / denominator, kind)
    if function == WEIGHTED:
        weight = over[0]
        pairs = [(Decimal(row[column]), Decimal(row[weight] or 0)) for row in rows if row.get(column) is not None]
        total_weight = sum((w for _, w in pairs), Decimal(0))
        if not pairs or total_weight == 0:
            return None
        return round_to(sum(value * w for value, w in pairs) / total_weight, kind)
    raise ValueError(f"unknown aggregation {function!r}")


def zero_for(kind: str, function: str) -> Any:
    if function in (SUM, COUNT_DISTINCT, COUNT_ROWS):
        return 0 if kind == COUNT else Decimal("0.00")
    return None
