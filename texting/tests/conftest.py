"""Fixtures for the send pipeline's tests on the real parts: RQ on Redis, the Twilio simulator."""

from __future__ import annotations

from collections.abc import Iterator

import django_rq
import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from texting.simulator import SimulatorConfig, TwilioSimulator

# The suite's own Redis database when REDIS_URL is not set (as in spoke/tests/test_jobs.py):
# CI sets REDIS_URL; on a developer machine the local redis-server.
TEST_REDIS_URL = "redis://127.0.0.1:6379/9"
QUEUES = ("default", "sends", "imports")
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "simulated-auth-token-0123456789"


def clean_redis(connection: Redis) -> None:
    for name in QUEUES:
        queue = django_rq.get_queue(name)
        queue.empty()
        for job_id in queue.scheduled_job_registry.get_job_ids():
            queue.scheduled_job_registry.remove(job_id, delete_job=True)
    for key in connection.scan_iter("spoke:*"):
        connection.delete(key)


@pytest.fixture
def redis_url(settings: SettingsWrapper) -> str:
    return settings.REDIS_URL or TEST_REDIS_URL


@pytest.fixture
def rq_on_redis(settings: SettingsWrapper, redis_url: str) -> Iterator[Redis]:
    """Jobs go to RQ on a real Redis (and rate-limit buckets too), as in production."""
    settings.JOBS_SYNC = False
    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = {name: {"URL": redis_url, "DEFAULT_TIMEOUT": 60} for name in QUEUES}
    connection = Redis.from_url(redis_url)
    try:
        connection.ping()
    except RedisConnectionError:
        pytest.fail(f"These tests need Redis at {redis_url}: start redis-server (or set REDIS_URL).")
    clean_redis(connection)
    yield connection
    clean_redis(connection)


@pytest.fixture
def simulator() -> Iterator[TwilioSimulator]:
    running = TwilioSimulator(SimulatorConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)).start()
    yield running
    running.stop()
