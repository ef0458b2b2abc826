"""Random streams and weighted draws."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


def stream(seed: int, *parts: object) -> random.Random:
    """An independent random stream per (seed, domain, tenant): one domain's changes leave the others alone.

    ``random.Random`` seeds a ``str`` through SHA-512, so streams do not depend on PYTHONHASHSEED.
    """
    return random.Random(":".join([str(seed), *(str(part) for part in parts)]))


class Weighted(Generic[T]):
    """Draw from weighted items by bisecting cumulative weights."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        if not items:
            raise ValueError("Weighted needs at least one item")
        self.values = [value for value, _ in items]
        self.cumulative = list(accumulate(weight for _, weight in items))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> T:
        return self.values[bisect(self.cumulative, rng.random() * self.total)]
