"""Deterministic ids: a counter per prefix, ``evt_000000123`` style (never uuid4)."""

from __future__ import annotations


class Ids:
    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        number = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = number
        return f"{prefix}_{number:09d}"

    def last(self, prefix: str) -> int:
        """The last number handed out for ``prefix`` (0 before the first)."""
        return self._counters.get(prefix, 0)

    def skip_to(self, prefix: str, number: int) -> None:
        """Numbers up to ``number`` were handed out by a hot loop that counts on its own."""
        if number < self.last(prefix):
            raise ValueError(f"counter {prefix} cannot go back from {self.last(prefix)} to {number}")
        self._counters[prefix] = number
