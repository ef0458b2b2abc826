"""Query parameters declared as data, parsed strictly: any bad value is a 400 naming the parameter.

Ranges (docs/api.md "Conventions"): ``from``/``to`` inclusive (aliases ``startDate``/
``endDate``), or ``days=N``, or ``timeframe=7d|30d|90d|12m``, each meaning the
period ending on the latest as-of date; the default is the 30 days ending on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from meridian.serve.api.errors import bad_parameter

DATE = "date"
INT = "int"
ENUM = "enum"
TEXT = "text"
MONTH = "month"
CURSOR = "cursor"

TIMEFRAMES = {"7d": 7, "30d": 30, "90d": 90, "12m": None}
TEXT_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    description: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    aliases: tuple[str, ...] = ()
    default: object = None

    def openapi(self) -> list[dict]:
        schema: dict = {"type": "string"}
        if self.kind == INT:
            schema = {"type": "integer"}
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            if self.maximum is not None:
                schema["maximum"] = self.maximum
        elif self.kind == ENUM:
            schema["enum"] = list(self.choices)
        elif self.kind == DATE:
            schema["format"] = "date"
        elif self.kind == MONTH:
            schema["pattern"] = r"^\d{4}-\d{2}$"
        if self.default is not None:
            schema["default"] = self.default
        return [
            {"name": name, "in": "query", "required": False, "schema": schema,
             "description": self.description if name == self.name else f"Alias of `{self.name}`."}
            for name in (self.name, *self.aliases)
        ]


def parse_date(value: str, parameter: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise bad_parameter(parameter, f"{parameter}={value!r} is not a date in YYYY-MM-DD form")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise bad_parameter(parameter, f"{parameter}={value!r} is not a calendar date") from None
    if not 1900 <= parsed.year <= 2999:
        raise bad_parameter(parameter, f"{parameter}={value!r} is outside the years 1900–2999")
    return parsed


def _parse_one(param: Param, name: str, value: str) -> object:
    if param.kind == DATE:
        return parse_date(value, name)
    if param.kind == INT:
        if not re.fullmatch(r"[+-]?\d{1,9}", value.strip()):
            raise bad_parameter(name, f"{name}={value!r} is not a whole number")
        number = int(value)
        if param.minimum is not None and number < param.minimum or param.maximum is not None and number > param.maximum:
            raise bad_parameter(name, f"{name}={number} must be between {param.minimum} and {param.maximum}")
        return number
    if param.kind == ENUM:
        if value not in param.choices:
            raise bad_parameter(name, f"{name}={value!r} is not one of {', '.join(param.choices)}")
        return value
    if param.kind == MONTH:
        if not re.fullmatch(r"\d{4}-\d{2}", value):
            raise bad_parameter(name, f"{name}={value!r} is not a month in YYYY-MM form")
        year, month = int(value[:4]), int(value[5:])
        if not (1 <= month <= 12 and 1900 <= year <= 2999):
            raise bad_parameter(name, f"{name}={value!r} is not a month in YYYY-MM form")
        return date(year, month, 1)
    if param.kind == CURSOR:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,512}", value):
            raise bad_parameter(name, f"{name}={value[:80]!r} is not a cursor this API returned")
        return value
    if param.kind == TEXT:
        if not TEXT_PATTERN.fullmatch(value):
            raise bad_parameter(name, f"{name}={value!r} must be 1–64 letters, digits or _.:-")
        return value
    raise AssertionError(param.kind)


def parse_params(declared: tuple[Param, ...], query: Mapping[str, list[str]]) -> dict[str, object]:
    """Every declared parameter by its canonical name (None when absent); unknown or repeated ones are 400s."""
    by_name = {name: param for param in declared for name in (param.name, *param.aliases)}
    for name, values in query.items():
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise bad_parameter(name, f"unknown parameter {name!r}; this endpoint takes: {known}")
        if len(values) > 1:
            raise bad_parameter(name, f"{name} is given {len(values)} times; give it once")
    parsed: dict[str, object] = {}
    for param in declared:
        given = [name for name in (param.name, *param.aliases) if name in query]
        if len(given) > 1:
            raise bad_parameter(given[1], f"{given[1]} is an alias of {param.name}; give only one of {', '.join(given)}")
        if given:
            parsed[param.name] = _parse_one(param, given[0], query[given[0]][0])
        else:
            parsed[param.name] = param.default
    return parsed


# --- the shared range parameters ----------------------------------------------------------------

FROM = Param("from", DATE, "First day (YYYY-MM-DD, UTC, inclusive).", aliases=("startDate",))
TO = Param("to", DATE, "Last day (YYYY-MM-DD, UTC, inclusive).", aliases=("endDate",))
DAYS = Param("days", INT, "The N days ending on the latest as-of date.", minimum=1, maximum=1100)
TIMEFRAME = Param("timeframe", ENUM, "The period ending on the latest as-of date.", choices=tuple(TIMEFRAMES))
FROM_TO = (FROM, TO)
RANGE = (FROM, TO, DAYS)
TIMEFRAME_ONLY = (TIMEFRAME,)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive
    labels: dict = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days}


def months_back(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    year, month = divmod(month, 12)
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month + 1, min(day.day, last[month]))


def resolve_range(args: Mapping[str, object], as_of: date, max_days: int, default_days: int = DEFAULT_DAYS) -> DateRange:
    start, end = args.get("from"), args.get("to")
    days, timeframe = args.get("days"), args.get("timeframe")
    if (days is not None or timeframe is not None) and (start is not None or end is not None):
        name = "days" if days is not None else "timeframe"
        raise bad_parameter(name, f"give either {name} or from/to, not both")
    if days is not None and timeframe is not None:
        raise bad_parameter("days", "give either days or timeframe, not both")
    if timeframe is not None:
        count = TIMEFRAMES[str(timeframe)]
        first = months_back(as_of, 12) + timedelta(days=1) if count is None else as_of - timedelta(days=count - 1)
        return DateRange(first, as_of)
    if days is not None:
        if int(days) > max_days:
            raise bad_parameter("days", f"days={days} is longer than the limit of {max_days} days")
        return DateRange(as_of - timedelta(days=int(days) - 1), as_of)
    last = end if isinstance(end, date) else as_of
    first = start if isinstance(start, date) else last - timedelta(days=default_days - 1)
    if first > last:
        raise bad_parameter("from", f"from={first} is after to={last}")
    if (last - first).days + 1 > max_days:
        raise bad_parameter("from", f"from={first} to {last} spans {(last - first).days + 1} days; the limit is {max_days}")
    return DateRange(first, last)
