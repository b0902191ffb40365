"""A Redis cache that rides out a Redis outage instead of failing the request.

Everything Spoke keeps in the cache can be rebuilt from the database or lost without harm
(API throttling counters, login-failure counters, which events webhooks want, the dashboard's
refresh window), so while Redis is down a read is a miss and a write is dropped, with a
warning in the log, and sends, replies and pages go on. Deleting stays strict: a delete that
did not happen would leave stale data behind once Redis is back, so it raises.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


def _tolerant(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: TolerantRedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except OUTAGE as error:
                logger.warning("cache unavailable (%s): %s treated as a miss", type(error).__name__, method.__name__)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key: str, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


class TolerantRedisCache(RedisCache):
    @_tolerant(_default)
    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return super().get(key, default, version)

    @_tolerant(lambda *args, **kwargs: {})
    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return super().get_many(keys, version)

    @_tolerant(lambda *args, **kwargs: None)
    def set(self, key: str, value: Any, timeout: Any = 300, version: int | None = None) -> None:
        super().set(key, value, timeout, version)

    @_tolerant(lambda *args, **kwargs: [])
    def set_many(self, data: dict[str, Any], timeout: Any = 300, version: int | None = None) -> list[str]:
        return super().set_many(data, timeout, version)

    @_tolerant(lambda *args, **kwargs: False)
    def add(self, key: str, value: Any, timeout: Any = 300, version: int | None = None) -> bool:
        return super().add(key, value, timeout, version)

    @_tolerant(lambda *args, **kwargs: False)
    def has_key(self, key: str, version: int | None = None) -> bool:
        return super().has_key(key, version)

    @_tolerant(lambda key, delta=1, *args, **kwargs: delta)
    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        return super().incr(key, delta, version)

    @_tolerant(lambda *args, **kwargs: False)
    def touch(self, key: str, timeout: Any = 300, version: int | None = None) -> bool:
        return super().touch(key, timeout, version)
