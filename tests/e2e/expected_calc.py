"""The arithmetic every reference module shares: PostgreSQL's rounding, rates and means, ``percentile_cont``,
and the starts of days, weeks, months, quarters and years.

One copy of each, so that two marts computed in two reference modules cannot round or bucket differently.
Every rounding here is exact: the value is taken as a Fraction and rounded half away from zero, as
PostgreSQL's numeric ``round`` does, never through a float or a 28-digit Decimal division.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

PERIOD_TYPES = ("day", "week", "month", "quarter", "year")

Number = Fraction | Decimal | int


# --------------------------------------------------------------------------- rounding


def round_half_up(value: Number, places: int) -> Decimal:
    """``value`` rounded to ``places`` decimals half away from zero (PostgreSQL numeric ``round``)."""
    exact = Fraction(value)
    whole = math.floor(abs(exact) * 10**places + Fraction(1, 2))
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(whole if exact >= 0 else -whole) * quantum).quantize(quantum)


def cents_to_units(cents: Fraction | int) -> Decimal:
    """Cents as currency units, rounded to 2 places half away from zero (numeric(14,2))."""
    return round_half_up(Fraction(cents) / 100, 2)


def rate(numerator: Number, denominator: Number, places: int = 4) -> Decimal | None:
    """numerator / denominator rounded half up to ``places`` (4: a rate); None when the denominator is 0."""
    if denominator == 0:
        return None
    return round_half_up(Fraction(numerator) / Fraction(denominator), places)


def mean(values: Iterable[Number], places: int = 2) -> Decimal | None:
    """The average of ``values`` rounded half up to ``places``; None when there are none."""
    items = [Fraction(value) for value in values]
    return round_half_up(sum(items, Fraction(0)) / len(items), places) if items else None


def percentile_cont(values: Iterable[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the closest ranks; None if empty."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    low, high = ordered[lower], ordered[upper]
    return low + (high - low) * (position - lower)


# --------------------------------------------------------------------------- periods


def week_start(day: date) -> date:
    """Monday of the ISO week containing ``day``."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The 1st of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(period_type: str, day: date) -> date:
    """The first day of the period of ``period_type`` (one of PERIOD_TYPES) holding ``day``."""
    if period_type == "day":
        return day
    if period_type == "week":
        return week_start(day)
    if period_type == "month":
        return month_start(day)
    if period_type == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period_type == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period type {period_type!r}")


def next_period_start(period_type: str, start: date) -> date:
    """The start of the period after the one starting on ``start`` (an exclusive period_end)."""
    if period_type == "day":
        return start + timedelta(days=1)
    if period_type == "week":
        return start + timedelta(days=7)
    return add_months(start, {"month": 1, "quarter": 3, "year": 12}[period_type])


def periods(period_type: str, first: date, last: date) -> list[tuple[date, date]]:
    """(start, exclusive end) of every period from the one holding ``first`` to the one holding ``last``."""
    out, start = [], period_start(period_type, first)
    while start <= last:
        end = next_period_start(period_type, start)
        out.append((start, end))
        start = end
    return out
