"""Token buckets in Redis (shared by every worker) and in process (the embedded default)."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis

from core import ratelimit
from core.ratelimit import LocalBucket, RedisBucket

TEST_REDIS_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture
def redis_url(settings: SettingsWrapper) -> str:
    url = settings.REDIS_URL or TEST_REDIS_URL
    Redis.from_url(url).delete("spoke:ratelimit:test-bucket")
    return url


def test_a_local_bucket_lets_a_burst_through_then_paces() -> None:
    bucket = LocalBucket()
    waits = [bucket.reserve("k", rate=10, burst=2)[0] for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.1, abs=0.02) and waits[3] == pytest.approx(0.2, abs=0.02)


def test_local_buckets_are_per_key() -> None:
    bucket = LocalBucket()
    assert bucket.reserve("a", rate=1, burst=1) == [0.0]
    assert bucket.reserve("b", rate=1, burst=1) == [0.0]
    assert bucket.reserve("a", rate=1, burst=1)[0] > 0.9


def test_a_redis_bucket_is_shared_by_every_process(redis_url: str) -> None:
    # Two clients, as two workers on two machines would hold: one limit between them.
    first, second = RedisBucket(redis_url), RedisBucket(redis_url)
    waits = [b.reserve("test-bucket", rate=5, burst=2)[0] for b in (first, second, first, second)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.2, abs=0.05) and waits[3] == pytest.approx(0.4, abs=0.05)
    assert Redis.from_url(redis_url).ttl("spoke:ratelimit:test-bucket") > 0


def test_the_bucket_store_follows_redis_url(settings: SettingsWrapper, redis_url: str) -> None:
    settings.REDIS_URL = ""
    assert isinstance(ratelimit.bucket(), LocalBucket)
    settings.REDIS_URL = redis_url
    assert isinstance(ratelimit.bucket(), RedisBucket)


def test_acquire_waits_its_turn(monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper) -> None:
    settings.REDIS_URL = ""
    slept: list[float] = []
    monkeypatch.setattr("core.ratelimit.time.sleep", slept.append)
    monkeypatch.setattr("core.ratelimit._local", LocalBucket())
    waits = [ratelimit.acquire("paced", rate=2) for _ in range(4)]
    assert waits[:2] == [0.0, 0.0] and slept == waits[2:] and all(w > 0 for w in slept)
    assert ratelimit.acquire("anything", rate=0) == 0.0  # no limit


@pytest.mark.parametrize("store", ["local", "redis"])
def test_a_batch_takes_its_tokens_in_one_call_and_gets_each_ones_wait(store: str, redis_url: str) -> None:
    bucket = LocalBucket() if store == "local" else RedisBucket(redis_url)
    key = "test-bucket"
    waits = bucket.reserve(key, rate=10, burst=3, count=5)
    assert waits[:3] == [0.0, 0.0, 0.0]  # the burst goes at once
    assert waits[3] == pytest.approx(0.1, abs=0.03) and waits[4] == pytest.approx(0.2, abs=0.03)
    # The next caller queues behind the whole batch.
    [after] = bucket.reserve(key, rate=10, burst=3)
    assert after == pytest.approx(0.3, abs=0.05)


def test_schedule_without_a_limit_waits_for_nothing() -> None:
    assert ratelimit.schedule("anything", 3, rate=0) == [0.0, 0.0, 0.0]
    assert ratelimit.schedule("anything", 0, rate=5) == []
