"""The Redis cache: one client per process, and riding out a Redis outage.

One client (and connection pool) per process: Django keeps cache backends per async context, so
under ASGI every request built a new RedisCacheClient with an empty pool and opened a new Redis
connection for its first cache call (on the send path: the dashboard's coalescing `cache.add`).
Sharing the client per process keeps the connections open; redis-py's pool is thread-safe. And
one `redis.Redis` per connection pool: Django's client builds a new one (with its table of
response callbacks) for every cache call, a twentieth of a send request's CPU in the profile.

Tolerant of an outage: everything Spoke keeps in the cache can be rebuilt from the database or
lost without harm (sessions are cached_db, API throttling counters, login-failure counters, which
events webhooks want, the dashboard's refresh window), so while Redis is down a read is a miss
and a write is dropped, with a warning in the log, and sends, replies and pages go on. Deleting
stays strict: a delete that did not happen would leave stale data behind once Redis is back, so
it raises.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)
_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client, building one `redis.Redis` per connection pool instead of one per call."""

    # Set by RedisCacheClient.__init__ (django-stubs does not declare them).
    _client: type[Any]
    _get_connection_pool: Callable[[bool], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients_by_pool: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients_by_pool.get(id(pool))
        if client is None:
            client = self._clients_by_pool.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    # Set by RedisCache.__init__ (django-stubs does not declare them).
    _servers: list[str]
    _options: dict[str, Any]
    _class: type[RedisCacheClient]

    @cached_property
    def _cache(self) -> Any:
        key = repr((self._servers, sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                cls = ReusedClientRedisCacheClient if self._class is RedisCacheClient else self._class
                client = _clients.setdefault(key, cls(self._servers, **self._options))
        return client


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


class TolerantRedisCache(SharedRedisCache):
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


def add_or_get(cache: Any, key: str, value: Any, timeout: int) -> tuple[bool, Any]:
    """`cache.add(key, value, timeout)`, and when the key was already there, its value: on Redis in
    one round trip (SET NX then GET, pipelined). Elsewhere (the embedded default, tests), two calls.
    A Redis outage reads as "added" (nothing known to be there), like the tolerant cache's reads."""
    if isinstance(cache, SharedRedisCache):
        client = cache._cache.get_client(write=True)
        full_key = cache.make_and_validate_key(key)
        serializer = cache._cache._serializer
        try:
            pipe = client.pipeline(transaction=False)
            pipe.set(full_key, serializer.dumps(value), nx=True, ex=timeout)
            pipe.get(full_key)
            added, current = pipe.execute()
        except OUTAGE as error:
            logger.warning("cache unavailable (%s): add treated as done", type(error).__name__)
            return True, None
        return bool(added), (None if added or current is None else serializer.loads(current))
    if cache.add(key, value, timeout=timeout):
        return True, None
    return False, cache.get(key)
