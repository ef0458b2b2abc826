"""The read API's parts without a warehouse: ranges, parameters, the run-keyed cache, rate limits, settings."""

from __future__ import annotations

from datetime import date

import pytest

from meridian.config import DEFAULT_RATE_LIMITS, _rate_limits_env
from meridian.serve.api.cache import MemoryCache
from meridian.serve.api.errors import ApiError
from meridian.serve.api.keys import hash_secret, secret_matches, split_key
from meridian.serve.api.params import DAYS, FROM, TIMEFRAME, TO, parse_params, resolve_range
from meridian.serve.api.ratelimit import RateLimiter

AS_OF = date(2026, 10, 31)


@pytest.mark.parametrize(("query", "first", "last"), [
    ({}, date(2026, 10, 2), AS_OF),
    ({"days": ["7"]}, date(2026, 10, 25), AS_OF),
    ({"timeframe": ["90d"]}, date(2026, 8, 3), AS_OF),
    ({"timeframe": ["12m"]}, date(2025, 11, 1), AS_OF),
    ({"from": ["2026-01-01"]}, date(2026, 1, 1), AS_OF),
    ({"to": ["2026-03-31"]}, date(2026, 3, 2), date(2026, 3, 31)),
    ({"startDate": ["2026-02-01"], "endDate": ["2026-02-28"]}, date(2026, 2, 1), date(2026, 2, 28)),
])
def test_ranges_end_on_the_as_of_date(query, first, last):
    args = parse_params((FROM, TO, DAYS, TIMEFRAME), query)
    span = resolve_range(args, AS_OF, max_days=1100)
    assert (span.start, span.end) == (first, last)


@pytest.mark.parametrize(("query", "parameter"), [
    ({"from": ["2026-11-01"], "to": ["2026-10-01"]}, "from"),
    ({"from": ["2020-01-01"]}, "from"),
    ({"days": ["5000"]}, "days"),
    ({"days": ["-3"]}, "days"),
    ({"timeframe": ["7d"], "from": ["2026-01-01"]}, "timeframe"),
    ({"timeframe": ["7d"], "days": ["7"]}, "days"),
    ({"from": ["31/10/2026"]}, "from"),
    ({"nope": ["1"]}, "nope"),
])
def test_bad_ranges_name_the_parameter(query, parameter):
    with pytest.raises(ApiError) as caught:
        resolve_range(parse_params((FROM, TO, DAYS, TIMEFRAME), query), AS_OF, max_days=1100)
    assert caught.value.status == 400 and caught.value.parameter == parameter


def test_cache_is_exact_per_run():
    cache = MemoryCache()
    cache.put("run-1", "acme|/a", b"one")
    assert cache.get("run-1", "acme|/a") == b"one"
    assert cache.get("run-2", "acme|/a") is None  # a new run: every entry of the old one is gone
    assert cache.get("run-1", "acme|/a") is None
    cache.put("run-2", "acme|/a", b"two!")
    assert cache.describe() | {"hit_rate": None} == {"backend": "memory", "entries": 1, "bytes": 4, "hits": 1,
                                                     "misses": 2, "hit_rate": None}


def test_rate_limit_window_and_retry_after():
    now = [600.0]
    limiter = RateLimiter({"revenue": 2, "default": 0}, clock=lambda: now[0])
    limiter.check("key", "revenue")
    limiter.check("key", "revenue")
    for _ in range(50):
        limiter.check("key", "other")  # 0 = unlimited
    now[0] = 615.0
    with pytest.raises(ApiError) as caught:
        limiter.check("key", "revenue")
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "45"
    limiter.check("another key", "revenue")
    now[0] = 660.0  # the next minute
    limiter.check("key", "revenue")


@pytest.mark.parametrize(("raw", "expected"), [
    ("", DEFAULT_RATE_LIMITS),
    ("off", {group: 0 for group in DEFAULT_RATE_LIMITS}),
    ("revenue=5, health=0", {**DEFAULT_RATE_LIMITS, "revenue": 5, "health": 0}),
])
def test_rate_limit_settings(monkeypatch, raw, expected):
    monkeypatch.setenv("MERIDIAN_API_RATE_LIMITS", raw)
    assert _rate_limits_env("MERIDIAN_API_RATE_LIMITS") == expected


@pytest.mark.parametrize("raw", ["revenue", "revenue=x", "reports=5"])
def test_bad_rate_limit_settings_name_the_variable_and_item(monkeypatch, raw):
    monkeypatch.setenv("MERIDIAN_API_RATE_LIMITS", raw)
    with pytest.raises(ValueError, match="MERIDIAN_API_RATE_LIMITS"):
        _rate_limits_env("MERIDIAN_API_RATE_LIMITS")


def test_keys_are_checked_by_the_hash_of_their_secret():
    key = "mk_0123456789ab_" + "s" * 43
    key_id, secret = split_key(key)
    assert key_id == "0123456789ab"
    assert secret_matches(secret, hash_secret(secret)) and not secret_matches(secret + "x", hash_secret(secret))
    assert split_key("mk_short_x") is None and split_key("Bearer " + key) is None
