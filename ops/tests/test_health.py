"""/healthz and /readyz: fast, JSON, no host or credential in the answer; readiness fails on a
stopped Redis, with no live worker, and when the outbox waits too long."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from rq import Worker

from campaigns.models import Contact
from spoke.testing import MessageFactory
from texting.models import Direction, MessageStatus
from texting.tests.conftest import TEST_REDIS_URL

# A loopback port nothing listens on: Redis "stopped".
STOPPED_REDIS = "redis://:hunter2-secret@127.0.0.1:1/0"


def test_healthz_answers_without_the_database(
    client: Client, assert_statements: Callable[[int], AbstractContextManager[object]]
) -> None:
    with assert_statements(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_in_the_embedded_default(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "workers": True,
        "queue_lag": True,
    }


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_on_a_stopped_redis_without_saying_where_it_is(client: Client, settings: SettingsWrapper) -> None:
    settings.REDIS_URL = STOPPED_REDIS
    settings.JOBS_SYNC = False
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["redis"] == {"ok": False, "detail": "unavailable"}
    assert body["checks"]["database"]["ok"] is True
    text = response.content.decode()
    assert "127.0.0.1" not in text and "hunter2" not in text and "6379" not in text


@pytest.fixture
def shared_redis(settings: SettingsWrapper) -> Iterator[Redis]:
    settings.REDIS_URL = settings.REDIS_URL or TEST_REDIS_URL
    settings.JOBS_SYNC = False
    connection = Redis.from_url(settings.REDIS_URL)
    for key in connection.scan_iter("rq:worker*"):
        connection.delete(key)
    yield connection
    for key in connection.scan_iter("rq:worker*"):
        connection.delete(key)


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_while_no_worker_is_alive(client: Client, shared_redis: Redis) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == {"ok": False, "detail": 0}

    worker = Worker(["sends"], connection=shared_redis, name=f"test-{uuid.uuid4().hex[:8]}")
    worker.register_birth()
    try:
        response = client.get("/readyz")
        assert response.status_code == 200, response.content
        assert response.json()["checks"]["workers"] == {"ok": True, "detail": 1}
    finally:
        worker.register_death()
    # A stopped worker leaves RQ's registry: not ready again.
    assert client.get("/readyz").status_code == 503


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_when_the_oldest_due_message_waited_too_long(
    client: Client, contact: Contact, settings: SettingsWrapper
) -> None:
    settings.READYZ_MAX_QUEUE_LAG_SECONDS = 120
    now = timezone.now()
    # Waiting for a retry does not count as lag; waiting to be sent does.
    MessageFactory.create(
        contact=contact,
        campaign=contact.campaign,
        organization=contact.campaign.organization,
        direction=Direction.OUTBOUND,
        status=MessageStatus.QUEUED,
        queued_at=now - dt.timedelta(minutes=30),
        next_attempt_at=now + dt.timedelta(minutes=1),
    )
    assert client.get("/readyz").status_code == 200
    MessageFactory.create(
        contact=contact,
        campaign=contact.campaign,
        organization=contact.campaign.organization,
        direction=Direction.OUTBOUND,
        status=MessageStatus.QUEUED,
        queued_at=now - dt.timedelta(minutes=5),
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    lag = response.json()["checks"]["queue_lag"]
    assert lag["ok"] is False and 299 <= lag["detail"] <= 330
    settings.READYZ_MAX_QUEUE_LAG_SECONDS = 0  # 0: lag never fails readiness
    assert client.get("/readyz").status_code == 200
    assert json.loads(client.get("/readyz").content)["checks"]["queue_lag"]["ok"] is True
