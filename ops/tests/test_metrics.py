"""/metrics: off without a token, 401 with a wrong one, and the right numbers after known sends."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from campaigns.models import Assignment, Campaign, Contact
from ops.metrics import websockets_change
from spoke.testing import ContactFactory
from texting.services import message_send

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def metrics_on(settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series] = float(value)
    return samples


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client: Client, settings: SettingsWrapper) -> None:
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_count_sends_deliveries_and_failures_by_code(
    client: Client,
    campaign: Campaign,
    assignment: Assignment,
    texter: User,
    texter_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(texters_can_edit_first_message=True)
    contacts = [ContactFactory.create(campaign=campaign, assignment=assignment) for _ in range(5)]
    # The fake provider accepts each message, then reports it delivered; "error30007" is reported failed.
    for contact in contacts[:4]:
        with django_capture_on_commit_callbacks(execute=True):
            message_send(texter=texter, contact_id=contact.pk, body="hello", send_key=uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        message_send(texter=texter, contact_id=contacts[4].pk, body="hello error30007", send_key=uuid.uuid4())
    # One request through the texter app, for the latency histogram.
    assert texter_client.get("/texter/").status_code == 200
    websockets_change(1)
    websockets_change(1)
    websockets_change(-1)

    samples = scrape(client)
    assert samples['spoke_messages_total{code="",outcome="sent"}'] == 5
    assert samples['spoke_messages_total{code="",outcome="delivered"}'] == 4
    assert samples['spoke_messages_total{code="30007",outcome="failed"}'] == 1
    assert samples["spoke_drain_batches_total"] == 5
    assert not any(key.startswith("spoke_outbox_queued_messages{") for key in samples)  # nothing waits
    assert samples["spoke_outbox_due_lag_seconds"] == 0
    assert samples["spoke_websockets_open"] == 1
    assert samples['spoke_http_request_duration_seconds_count{area="texter"}'] == 1
    assert samples['spoke_http_request_duration_seconds_bucket{area="texter",le="+Inf"}'] == 1
    assert samples["spoke_status_callback_lag_seconds_count"] == 5


def test_the_outbox_depth_and_age_show_queued_messages(
    client: Client, contact: Contact, settings: SettingsWrapper
) -> None:
    from django.utils import timezone

    from spoke.testing import MessageFactory
    from texting.models import MessageStatus

    settings.READYZ_MAX_QUEUE_LAG_SECONDS = 0
    for _ in range(3):
        MessageFactory.create(
            contact=contact, status=MessageStatus.QUEUED, messaging_service_sid="MG1", queued_at=timezone.now()
        )
    samples = scrape(client)
    assert samples['spoke_outbox_queued_messages{messaging_service="MG1"}'] == 3
    assert 0 <= samples['spoke_outbox_oldest_queued_age_seconds{messaging_service="MG1"}'] < 60


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_texter_sockets_are_counted_as_they_open_and_close(texter: User) -> None:
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from ops.metrics import websockets_open
    from texting.consumers import TexterConsumer

    sockets = []
    for _ in range(2):
        communicator = WebsocketCommunicator(TexterConsumer.as_asgi(), "/ws/texter/")
        communicator.scope["user"] = texter
        connected, _ = await communicator.connect()
        assert connected
        sockets.append(communicator)
    assert websockets_open() == 2
    await sockets[0].disconnect()
    assert websockets_open() == 1
    await sockets[1].disconnect()
    assert websockets_open() == 0
    await sync_to_async(connections.close_all)()  # the consumer's database thread lets go of the test database


def test_sockets_are_summed_across_processes_and_a_dead_process_drops_out(settings: SettingsWrapper) -> None:
    from redis import Redis

    from ops.metrics import SOCKETS_SET, websockets_open
    from texting.tests.conftest import TEST_REDIS_URL

    settings.REDIS_URL = settings.REDIS_URL or TEST_REDIS_URL
    settings.JOBS_SYNC = False
    connection = Redis.from_url(settings.REDIS_URL)
    other = "spoke:metrics:websockets:other-host:4242"
    connection.set(other, 5, ex=60)
    connection.sadd(SOCKETS_SET, other)
    websockets_change(1)
    websockets_change(1)
    assert websockets_open() == 7
    connection.delete(other)  # its key expired: that process died
    assert websockets_open() == 2
    assert connection.smembers(SOCKETS_SET) == {
        f"spoke:metrics:websockets:{socket.gethostname()}:{os.getpid()}".encode()
    }
    websockets_change(-2)


def test_delivery_report_counts_wait_in_the_process_then_go_in_one_flush(settings: SettingsWrapper) -> None:
    import time

    from redis import Redis

    from ops.metrics import COUNTERS_KEY, FLUSH_SECONDS, counters_add, counters_read, metrics_flush, metrics_reset
    from texting.tests.conftest import TEST_REDIS_URL

    settings.REDIS_URL = settings.REDIS_URL or TEST_REDIS_URL
    settings.JOBS_SYNC = False
    metrics_reset()
    connection = Redis.from_url(settings.REDIS_URL)
    field = "messages|code=|outcome=delivered"
    counters_add("messages", outcome="delivered", code="")  # a drain batch's count: sent at once
    assert connection.hget(COUNTERS_KEY, field) == b"1"
    metrics_flush()  # a flush just happened: the next second's reports are held
    for _ in range(3):
        counters_add("messages", flush=False, outcome="delivered", code="")
    assert connection.hget(COUNTERS_KEY, field) == b"1"  # held: no Redis round trip per report
    time.sleep(FLUSH_SECONDS + 0.5)  # a quiet process still sends them, on its timer
    assert connection.hget(COUNTERS_KEY, field) == b"4"
    counters_add("messages", flush=False, outcome="delivered", code="")
    assert counters_read()[field] == 5  # this process's own held counts are read with the rest
    metrics_reset()
