"""Token buckets: at most `rate` events per second per key, shared by every process through Redis.

`reserve()` takes tokens (one, or a whole batch's in one call) and answers how long the caller must
wait before using each; tokens may go negative, which queues callers fairly behind each other
instead of making them poll. With REDIS_URL set the bucket lives in Redis (one round trip, a Lua
script, so several workers on several machines share one limit); without it (the embedded
default) it lives in this process.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from django.conf import settings

# KEYS[1]: the bucket; ARGV: rate (tokens/s), burst (bucket size). Redis's own clock, so workers
# whose clocks disagree still share one bucket correctly.
RESERVE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local count = tonumber(ARGV[3] or '1')
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local before = tokens
tokens = tokens - count
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(before)
"""


class Bucket(Protocol):
    def reserve(self, key: str, *, rate: float, burst: float, count: int = 1) -> list[float]:
        """Take `count` tokens; return, for each, the seconds to wait before acting on it."""
        ...


def _waits(before: float, count: int, rate: float) -> list[float]:
    """With `before` tokens in the bucket, the wait for each of the next `count` tokens."""
    return [max(0.0, (i + 1 - before) / rate) for i in range(count)]


class LocalBucket:
    """In-process buckets for the embedded default (one process sends)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def reserve(self, key: str, *, rate: float, burst: float, count: int = 1) -> list[float]:
        with self._lock:
            now = time.monotonic()
            tokens, ts = self._state.get(key, (burst, now))
            before = min(burst, tokens + (now - ts) * rate)
            self._state[key] = (before - count, now)
        return _waits(before, count, rate)


class RedisBucket:
    def __init__(self, url: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url)
        self._script = self._redis.register_script(RESERVE_SCRIPT)

    def reserve(self, key: str, *, rate: float, burst: float, count: int = 1) -> list[float]:
        before = float(self._script(keys=[f"spoke:ratelimit:{key}"], args=[rate, burst, count]))
        return _waits(before, count, rate)


_local = LocalBucket()
_redis_buckets: dict[str, RedisBucket] = {}
_redis_lock = threading.Lock()


def bucket() -> Bucket:
    """The shared bucket store: Redis when REDIS_URL is set, else this process."""
    url = settings.REDIS_URL
    if not url:
        return _local
    with _redis_lock:
        if url not in _redis_buckets:
            _redis_buckets[url] = RedisBucket(url)
        return _redis_buckets[url]


def acquire(key: str, *, rate: float, burst: float | None = None) -> float:
    """Wait until an event under `key` fits within `rate` per second; returns the seconds waited.

    `burst` (default: one second's worth) is how many may go at once after a quiet spell.
    A rate of 0 or less means no limit.
    """
    if rate <= 0:
        return 0.0
    [wait] = bucket().reserve(key, rate=rate, burst=burst if burst is not None else max(rate, 1.0))
    if wait > 0:
        time.sleep(wait)
    return wait


def schedule(key: str, count: int, *, rate: float, burst: float | None = None) -> list[float]:
    """Take `count` tokens at once (one round trip for a whole batch); return, for each event,
    the seconds from now before it may happen. The caller waits each out (`time.sleep`)."""
    if rate <= 0 or count <= 0:
        return [0.0] * max(count, 0)
    return bucket().reserve(key, rate=rate, burst=burst if burst is not None else max(rate, 1.0), count=count)
