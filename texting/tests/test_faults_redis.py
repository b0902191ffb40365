"""Redis restarted or flushed while texters send: every send is still accepted, and every queued
message is sent exactly once after Redis is back (the sweeper re-kicks what Redis lost).

These tests stop and start a Redis of their own (never the shared one), on a port of the
suite's fault-test range, with the same parts as production: RQ queues, the cache and the
channels-redis layer all on it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import django_rq
import pytest
from channels.layers import channel_layers
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from rq import SimpleWorker

from accounts.models import User
from campaigns.models import Assignment, Campaign, Contact
from spoke.testing import ContactFactory
from texting.jobs import sweep_outbox
from texting.models import Message, MessageStatus
from texting.providers.base import OutboundSMS, SendResult
from texting.tests.test_outbox import ScriptedProvider

pytestmark = pytest.mark.django_db(transaction=True)

PRIVATE_REDIS_PORT = 18361


class PrivateRedis:
    """A redis-server process this test may stop, start and flush."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("These tests need redis-server on the PATH (apt-get install redis-server).")
        self.process = subprocess.Popen(  # noqa: S603 (a fixed local binary)
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url).ping():
                    return
            except OSError:
                time.sleep(0.05)
            except Exception:
                time.sleep(0.05)
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        # Nothing listens any more: a connection is refused, as in an outage.
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", self.port)) != 0


@pytest.fixture
def private_redis(settings: SettingsWrapper) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(PRIVATE_REDIS_PORT)
    redis.start()
    settings.JOBS_SYNC = False
    settings.REDIS_URL = redis.url
    settings.RQ_QUEUES = {name: {"URL": redis.url, "DEFAULT_TIMEOUT": 60} for name in ("default", "sends", "imports")}
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.TolerantRedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [redis.url]}}
    }
    # Sessions cached in Redis with the database behind them (the stricter case: with database
    # sessions a request does not touch Redis at all): a lost Redis reads as a cache miss.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.SEND_SWEEP_QUEUED_AFTER_SECONDS = 0
    channel_layers.backends.clear()
    yield redis
    redis.stop()
    channel_layers.backends.clear()


class CountingProvider(ScriptedProvider):
    """Accepts everything with a short SID (a whole script does not fit in one)."""

    def send(self, message: OutboundSMS) -> SendResult:
        with self.lock:
            self.sent.append(message)
            return SendResult(sid=f"SMcounted{len(self.sent):06d}", status="queued")


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> ScriptedProvider:
    scripted = CountingProvider()
    monkeypatch.setattr("texting.outbox.get_provider", lambda *args, **kwargs: scripted)
    return scripted


@pytest.fixture
def many(campaign: Campaign, assignment: Assignment) -> list[Contact]:
    return [ContactFactory.create(campaign=campaign, assignment=assignment) for _ in range(6)]


def _send(client: Client, contact: Contact) -> Any:
    return client.post(
        reverse("texter:contact_send", args=[contact.pk]),
        {"body": "", "send_key": str(uuid.uuid4()), "first_message": True},
        content_type="application/json",
    )


def _work_until_idle(redis: PrivateRedis) -> None:
    """An RQ worker drains what is queued (the sweep first), in this process."""
    queue = django_rq.get_queue("sends")
    queue.enqueue(sweep_outbox)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


@pytest.mark.parametrize("fault", ["restarted", "flushed"])
def test_sends_go_on_while_redis_is_lost_and_each_message_is_sent_once_after(
    fault: str,
    private_redis: PrivateRedis,
    provider: ScriptedProvider,
    client: Client,
    texter: User,
    many: list[Contact],
) -> None:
    client.force_login(texter)
    before, during = many[:3], many[3:]
    for contact in before:  # their drain jobs wait in Redis…
        assert _send(client, contact).status_code == 200
    if fault == "restarted":
        private_redis.stop()  # …and are lost with it
        for contact in during:  # the texter goes on sending: each send is committed and answered
            response = _send(client, contact)
            assert response.status_code == 200, response.content
        private_redis.start()
    else:
        Redis.from_url(private_redis.url).flushdb()  # every job and flag gone at once
        for contact in during:
            assert _send(client, contact).status_code == 200

    assert Message.objects.filter(status=MessageStatus.QUEUED).count() == len(many)
    _work_until_idle(private_redis)

    assert sorted(sms.to for sms in provider.sent) == sorted(c.cell for c in many)
    assert Message.objects.filter(status=MessageStatus.SENT).count() == len(many)
    # Running the sweep and the workers again sends nothing twice.
    _work_until_idle(private_redis)
    assert len(provider.sent) == len(many)


def test_a_lost_drain_enqueue_is_logged_not_raised(
    private_redis: PrivateRedis, provider: ScriptedProvider, client: Client, texter: User, contact: Contact, caplog: Any
) -> None:
    client.force_login(texter)
    private_redis.stop()
    response = _send(client, contact)
    assert response.status_code == 200
    assert Message.objects.get(contact=contact).status == MessageStatus.QUEUED
    assert "Redis unavailable: job" in caplog.text
    private_redis.start()
    _work_until_idle(private_redis)
    assert Message.objects.get(contact=contact).status == MessageStatus.SENT


def test_the_cache_reads_as_empty_while_redis_is_down(private_redis: PrivateRedis) -> None:
    from django.core.cache import cache

    cache.set("k", 1)
    assert cache.get("k") == 1
    private_redis.stop()
    assert cache.get("k", "missing") == "missing"
    assert cache.add("k2", 1) is False
    cache.set("k3", 1)  # dropped, not raised
    with pytest.raises(Exception):  # noqa: B017 (a delete that did not happen must be loud)
        cache.delete("k")
    private_redis.start()
    assert cache.get("k") is None and dt.datetime.now(dt.UTC)
