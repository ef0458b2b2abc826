"""Response cache keyed by the transform run: a new run invalidates every entry, exactly (no TTL).

Entries are keyed on (run token, tenant, path, canonical query). When a request
sees a new run token the memory cache drops every entry of older runs; in Redis
(``REDIS_URL``) the run token is part of the key, so older entries are never read
again (they expire after a week only to free memory).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    def as_dict(self, entries: int, size: int, backend: str) -> dict:
        total = self.hits + self.misses
        return {
            "backend": backend,
            "entries": entries,
            "bytes": size,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(100 * self.hits / total, 2) if total else None,
        }


class MemoryCache:
    backend = "memory"

    def __init__(self) -> None:
        self._run: str | None = None
        self._entries: dict[str, bytes] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def _switch(self, run: str) -> None:
        if run != self._run:
            self._run = run
            self._entries = {}
            self._bytes = 0

    def get(self, run: str, key: str) -> bytes | None:
        with self._lock:
            self._switch(run)
            value = self._entries.get(key)
            if value is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
            return value

    def put(self, run: str, key: str, value: bytes) -> None:
        with self._lock:
            self._switch(run)
            if run != self._run:
                return
            old = self._entries.get(key)
            self._bytes += len(value) - (len(old) if old else 0)
            self._entries[key] = value

    def describe(self) -> dict:
        with self._lock:
            return self.stats.as_dict(len(self._entries), self._bytes, self.backend)


class RedisCache:
    backend = "redis"
    PREFIX = "meridian:api:cache:"
    KEEP_SECONDS = 7 * 24 * 3600

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise RuntimeError(f"REDIS_URL={url!r} is set but the redis package is not installed: "
                               "pip install redis, or unset REDIS_URL for the in-process cache") from exc
        self._client = redis.Redis.from_url(url)
        self.stats = CacheStats()

    def get(self, run: str, key: str) -> bytes | None:
        value = self._client.get(f"{self.PREFIX}{run}:{key}")
        if value is None:
            self.stats.misses += 1
            self._client.incr(f"{self.PREFIX}misses")
        else:
            self.stats.hits += 1
            self._client.incr(f"{self.PREFIX}hits")
        return value

    def put(self, run: str, key: str, value: bytes) -> None:
        self._client.set(f"{self.PREFIX}{run}:{key}", value, ex=self.KEEP_SECONDS)

    def describe(self) -> dict:
        info = self._client.info("memory")
        hits = int(self._client.get(f"{self.PREFIX}hits") or 0)
        misses = int(self._client.get(f"{self.PREFIX}misses") or 0)
        shared = CacheStats(hits, misses)
        entries = sum(1 for _ in self._client.scan_iter(f"{self.PREFIX}*:*", count=1000))
        return shared.as_dict(entries, int(info.get("used_memory", 0)), self.backend)


class NoCache:
    """MERIDIAN_API_CACHE=off: every request is answered from the marts."""

    backend = "off"

    def __init__(self) -> None:
        self.stats = CacheStats()

    def get(self, run: str, key: str) -> bytes | None:
        self.stats.misses += 1
        return None

    def put(self, run: str, key: str, value: bytes) -> None:
        return None

    def describe(self) -> dict:
        return self.stats.as_dict(0, 0, self.backend)


def make_cache(redis_url: str | None, enabled: bool = True) -> MemoryCache | RedisCache | NoCache:
    if not enabled:
        return NoCache()
    return RedisCache(redis_url) if redis_url else MemoryCache()
