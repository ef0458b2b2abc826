"""Deterministic ids: a counter per prefix, ``evt_000000123`` style (never uuid4)."""

from __future__ import annotations

import random


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

    def advance(self, prefix: str, number: int) -> None:
        """Record that numbers up to ``number`` were handed out by a hot loop that counts itself."""
        self._counters[prefix] = number


def stream(seed: int, *parts: object) -> random.Random:
    """An independent random stream per (seed, domain, tenant): one domain's changes leave the others alone.

    ``random.Random`` seeds a ``str`` through SHA-512, so streams do not depend on PYTHONHASHSEED.
    """
    return random.Random(":".join([str(seed), *(str(part) for part in parts)]))
