"""Jobs through real RQ on real Redis: deduplicated drains, run by a worker after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import django_rq
import pytest
from django.db import transaction
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from rq import SimpleWorker

from accounts.models import User
from campaigns.models import Contact
from core.jobs import enqueue
from texting.models import Message, MessageStatus
from texting.services import message_send

pytestmark = pytest.mark.django_db(transaction=True)

# The suite's own Redis database: CI sets REDIS_URL to it; on a developer machine the local Redis.
TEST_REDIS_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture
def rq_on_redis(settings: SettingsWrapper) -> Iterator[Redis]:
    url = settings.REDIS_URL or TEST_REDIS_URL
    settings.JOBS_SYNC = False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in ("default", "sends", "imports")}
    connection = Redis.from_url(url)
    connection.ping()  # a clear failure when Redis is not running: start it (see README)
    _clean(connection)
    yield connection
    _clean(connection)


def _clean(connection: Redis) -> None:
    for name in ("default", "sends", "imports"):
        queue = django_rq.get_queue(name)
        queue.empty()
        for job_id in queue.scheduled_job_registry.get_job_ids():
            queue.scheduled_job_registry.remove(job_id, delete_job=True)
    for key in connection.scan_iter("spoke:*"):
        connection.delete(key)


def _record(value: str) -> None:
    Message.objects.filter(pk=int(value)).update(status_note="ran in a worker")


def test_job_is_enqueued_only_after_the_transaction_commits(rq_on_redis: Redis, contact: Contact) -> None:
    message = Message.objects.create(contact=contact, direction="out", body="x", status=MessageStatus.SENT)
    queue = django_rq.get_queue("default")
    with transaction.atomic():
        enqueue(_record, value=str(message.pk))
        assert queue.count == 0
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    message.refresh_from_db()
    assert message.status_note == "ran in a worker"


def test_rolled_back_transaction_enqueues_nothing(rq_on_redis: Redis) -> None:
    queue = django_rq.get_queue("default")
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(_record, value="1")
        raise RuntimeError("roll back")
    assert queue.count == 0


def test_a_thousand_sends_queue_one_drain_job_and_a_worker_sends_them_all(
    rq_on_redis: Redis, contact: Contact, texter: User, settings: SettingsWrapper
) -> None:
    settings.SEND_RATE_PER_SECOND = 0  # pacing has its own tests (test_ratelimit.py, test_outbox.py)
    campaign = contact.campaign
    contacts = [contact] + [
        Contact.objects.create(campaign=campaign, assignment=contact.assignment, cell=f"+1312555{i:04d}")
        for i in range(1, 1000)
    ]
    for each in contacts:
        message_send(texter=texter, contact_id=each.pk, body="", send_key=uuid.uuid4())
    queue = django_rq.get_queue("sends")
    assert queue.count == 1
    assert Message.objects.filter(status=MessageStatus.QUEUED).count() == 1000
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == 1000
    assert Message.objects.count() == 1000


def test_once_the_drain_has_started_the_next_send_queues_another(
    rq_on_redis: Redis, contact: Contact, texter: User
) -> None:
    campaign = contact.campaign
    first, second = (
        Contact.objects.create(campaign=campaign, assignment=contact.assignment, cell=f"+1312555{i:04d}")
        for i in (1, 2)
    )
    queue = django_rq.get_queue("sends")
    message_send(texter=texter, contact_id=first.pk, body="", send_key=uuid.uuid4())
    message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4())
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    # The drain cleared its "waiting" flag as it started: a later send is not lost behind it.
    message_send(texter=texter, contact_id=second.pk, body="", send_key=uuid.uuid4())
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == 3


def _touch(value: str) -> None:
    Message.objects.filter(pk=int(value)).update(status_note=f"once {value}")


def test_enqueue_once_deduplicates_by_key_until_the_job_starts(rq_on_redis: Redis, contact: Contact) -> None:
    from core.jobs import enqueue_once

    message = Message.objects.create(contact=contact, direction="out", body="x", status=MessageStatus.SENT)
    queue = django_rq.get_queue("default")
    for _ in range(5):
        with transaction.atomic():
            enqueue_once(_touch, key="touch", value=str(message.pk))
    assert queue.count == 1
    with transaction.atomic():
        enqueue_once(_touch, key="another key", value=str(message.pk))
    assert queue.count == 2
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    message.refresh_from_db()
    assert message.status_note == f"once {message.pk}"
    assert not rq_on_redis.exists("spoke:pending-job:touch")
