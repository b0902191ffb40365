"""Django's Redis cache with one client (and connection pool) per process.

Django keeps cache backends per async context, so under ASGI every request built a new
RedisCacheClient with an empty pool and opened a new Redis connection for its first cache call
(on the send path: the dashboard's coalescing `cache.add`). Sharing the client per process keeps
the connections open; redis-py's pool is thread-safe.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


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
                client = _clients.setdefault(key, self._class(self._servers, **self._options))
        return client
