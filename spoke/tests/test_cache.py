"""The Redis cache backend (core/cache.py): one client per process, reused by every call."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import caches
from pytest_django.fixtures import Settings as SettingsWrapper

from core import cache as shared

TEST_REDIS_URL = "redis://127.0.0.1:6379/9"


def test_cache_calls_reuse_one_redis_client(settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch) -> None:
    url = settings.REDIS_URL or TEST_REDIS_URL
    settings.CACHES = {"reuse": {"BACKEND": "core.cache.TolerantRedisCache", "LOCATION": url, "KEY_PREFIX": "t-reuse"}}
    monkeypatch.setattr(shared, "_clients", {})
    built: list[Any] = []
    original = redis.Redis.__init__

    def counting_init(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    cache = caches["reuse"]
    for n in range(5):
        cache.set(f"k{n}", n, timeout=30)
        assert cache.get(f"k{n}") == n
        assert cache.add(f"k{n}", "again", timeout=30) is False
    assert len(built) == 1  # Django's own client builds one per call: 15 here
    assert caches["reuse"].get("k4") == 4  # and another handle on the same cache shares it
    assert len(built) == 1
    cache.delete_many([f"k{n}" for n in range(5)])
