"""The generated window, instants as integer milliseconds, and fast ISO-8601 formatting.

Every instant inside the generator is an ``int`` of milliseconds since the Unix
epoch (UTC). Rows carry timestamps as ISO-8601 text with an explicit offset,
``2026-10-30T14:03:12.345+00:00``: PostgreSQL's COPY reads it into
``timestamptz`` and the event files carry the same text. Formatting goes through
lookup tables because the generator formats a few million instants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_EPOCH = date(1970, 1, 1)

# how far before the window the fast formatter reaches (organizations, early customers)
_LOOKBACK_DAYS = 4 * 366
_LOOKAHEAD_DAYS = 60


def day_ms(day: date) -> int:
    """The first instant of a UTC day."""
    return (day - _EPOCH).days * DAY


def iso(ms: int) -> str:
    """Any instant as ISO-8601 with milliseconds and offset (slow path)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass
class Window:
    """The covered days ``start_date .. end_date`` and the generation's "now" (end of end_date)."""

    start_date: date
    end_date: date
    start_ms: int = field(init=False)  # the first instant of start_date
    now_ms: int = field(init=False)  # the end of end_date: nothing generated happens at or after it
    _prefixes: list[str] = field(init=False, repr=False)
    _hms: list[str] = field(init=False, repr=False)
    _millis: list[str] = field(init=False, repr=False)
    _first_day: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.start_ms = day_ms(self.start_date)
        self.now_ms = day_ms(self.end_date) + DAY
        first = self.start_date - timedelta(days=_LOOKBACK_DAYS)
        count = (self.end_date - first).days + 1 + _LOOKAHEAD_DAYS
        self._first_day = (first - _EPOCH).days
        self._prefixes = [(first + timedelta(days=offset)).isoformat() + "T" for offset in range(count)]
        self._hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400)]
        self._millis = [f"{m:03d}+00:00" for m in range(1000)]

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    def day_index(self, ms: int) -> int:
        """Days since start_date (negative before the window)."""
        return (ms - self.start_ms) // DAY

    def date_of(self, ms: int) -> date:
        return _EPOCH + timedelta(days=ms // DAY)

    def format_tables(self) -> tuple[int, list[str], list[str], list[str]]:
        """(first day number, day prefixes, "HH:MM:SS." per second of day, "mmm+00:00" per ms) for inlined fmt."""
        return self._first_day, self._prefixes, self._hms, self._millis

    def fmt(self, ms: int) -> str:
        day, rest = divmod(ms, DAY)
        index = day - self._first_day
        if 0 <= index < len(self._prefixes):
            seconds, millis = divmod(rest, 1000)
            return self._prefixes[index] + self._hms[seconds] + self._millis[millis]
        return iso(ms)

    def fmt_opt(self, ms: int | None) -> str | None:
        return None if ms is None else self.fmt(ms)
