"""Per-key request limits per minute and route group (fixed one-minute windows); 429 with Retry-After."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from meridian.serve.api.errors import ApiError


class RateLimiter:
    def __init__(self, limits: dict[str, int], redis_url: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)

    def check(self, who: str, group: str) -> None:
        limit = self.limits.get(group, self.limits.get("default", 0))
        if not limit:
            return
        now = self._clock()
        window = int(now // 60)
        if self._redis is not None:
            key = f"meridian:api:rate:{group}:{who}:{window}"
            count = int(self._redis.incr(key))
            if count == 1:
                self._redis.expire(key, 120)
        else:
            with self._lock:
                seen_window, count = self._counts.get((who, group), (window, 0))
                count = count + 1 if seen_window == window else 1
                self._counts[(who, group)] = (window, count)
                if len(self._counts) > 100_000:  # forget finished windows
                    self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        if count > limit:
            retry = max(1, math.ceil((window + 1) * 60 - now))
            raise ApiError(429, f"rate limit of {limit} requests per minute for {group} requests exceeded; "
                           f"retry in {retry} s", headers={"Retry-After": str(retry)})
