"""The outbox sweeper: re-kicks forgotten drains, sends stuck messages to review, keeps itself scheduled."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import django_rq
import pytest
from django.core.management import call_command
from django.utils import timezone
from redis import Redis
from rq import SimpleWorker

from campaigns.models import Contact
from spoke.testing import MessageFactory
from texting.jobs import sweep_outbox, sweeper_schedule
from texting.models import Message, MessageStatus
from texting.outbox import STUCK_NOTE, outbox_sweep
from texting.worker import SpokeWorker

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def _message(contact: Contact, **kwargs: object) -> Message:
    return MessageFactory(contact=contact, provider_sid=None, **kwargs)


def test_a_message_stuck_in_sending_goes_to_review(contact: Contact) -> None:
    stuck = _message(contact, status=MessageStatus.SENDING, claimed_at=NOW - dt.timedelta(minutes=11))
    recent = _message(contact, status=MessageStatus.SENDING, claimed_at=NOW - dt.timedelta(minutes=2))
    result = outbox_sweep(now=NOW, kick=lambda service: None)
    assert result.stuck == 1
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert (stuck.status, stuck.status_note) == (MessageStatus.REVIEW, STUCK_NOTE)
    assert recent.status == MessageStatus.SENDING


def test_forgotten_queued_messages_have_their_drains_kicked_once_per_service(contact: Contact) -> None:
    old = NOW - dt.timedelta(minutes=5)
    for service in ("MGa", "MGa", "MGb"):
        _message(contact, status=MessageStatus.QUEUED, queued_at=old, messaging_service_sid=service)
    _message(contact, status=MessageStatus.QUEUED, queued_at=NOW, messaging_service_sid="MGfresh")
    _message(
        contact,
        status=MessageStatus.QUEUED,
        queued_at=old,
        next_attempt_at=NOW + dt.timedelta(seconds=30),
        messaging_service_sid="MGbackoff",
    )
    kicked: list[str] = []
    assert outbox_sweep(now=NOW, kick=kicked.append).kicked == ["MGa", "MGb"]
    assert kicked == ["MGa", "MGb"]


def test_the_sweep_sends_what_was_forgotten(contact: Contact, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    forgotten = _message(contact, status=MessageStatus.QUEUED, queued_at=timezone.now() - dt.timedelta(hours=1))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep_outbox", stdout=out)  # jobs run in process: the kicked drain sends it
    forgotten.refresh_from_db()
    assert forgotten.status == MessageStatus.DELIVERED
    assert "Drains kicked for: (default service)" in out.getvalue()


def test_the_command_reports_stuck_messages(contact: Contact) -> None:
    _message(contact, status=MessageStatus.SENDING, claimed_at=timezone.now() - dt.timedelta(hours=1))
    out = StringIO()
    call_command("sweep_outbox", stdout=out)
    assert "Drains kicked for: none. Messages stuck in sending moved to review: 1." in out.getvalue()


def test_without_redis_nothing_is_scheduled() -> None:
    assert sweeper_schedule(now=NOW) is None


# --- Scheduling on Redis (rqworker --with-scheduler) -----------------------------------------------


def _scheduled_sweeps() -> list[str]:
    return [i for i in django_rq.get_queue("sends").scheduled_job_registry.get_job_ids() if i.startswith("sweep-")]


def test_the_next_sweep_is_scheduled_once_however_many_ask(rq_on_redis: Redis, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SEND_SWEEP_INTERVAL_SECONDS = 60
    for _ in range(3):
        assert sweeper_schedule(now=NOW) == f"sweep-outbox-{int(NOW.timestamp()) // 60 + 1}"
    assert _scheduled_sweeps() == [f"sweep-outbox-{int(NOW.timestamp()) // 60 + 1}"]
    job = django_rq.get_queue("sends").fetch_job(_scheduled_sweeps()[0])
    assert job is not None and job.func_name == "texting.jobs.sweep_outbox"


def test_a_starting_worker_seeds_the_sweeper(rq_on_redis: Redis) -> None:
    queue = django_rq.get_queue("sends")
    SpokeWorker([queue], connection=queue.connection).work(burst=True)
    assert len(_scheduled_sweeps()) == 1


@pytest.mark.django_db(transaction=True)
def test_each_sweep_schedules_the_next(rq_on_redis: Redis) -> None:
    result = sweep_outbox()
    assert result == {"kicked": 0, "stuck": 0, "webhook_deliveries_pruned": 0}
    assert len(_scheduled_sweeps()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_sweep_run_by_a_worker_re_kicks_a_drain_redis_lost(rq_on_redis: Redis, contact: Contact) -> None:
    forgotten = _message(contact, status=MessageStatus.QUEUED, queued_at=timezone.now() - dt.timedelta(hours=1))
    queue = django_rq.get_queue("sends")
    queue.enqueue(sweep_outbox)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)  # the sweep, then the drain it kicked
    forgotten.refresh_from_db()
    assert forgotten.status == MessageStatus.DELIVERED


def test_the_sweep_prunes_the_webhook_delivery_log_at_most_once_an_hour(organization, settings) -> None:  # type: ignore[no-untyped-def]
    from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 30
    endpoint = WebhookEndpoint.objects.create(organization=organization, url="https://example.org/hook", events=[])

    def old_delivery() -> None:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event="tag.applied", payload={}, status=DeliveryStatus.SUCCEEDED
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - dt.timedelta(days=31))

    old_delivery()
    assert sweep_outbox()["webhook_deliveries_pruned"] == 1
    old_delivery()
    assert sweep_outbox()["webhook_deliveries_pruned"] == 0  # within the hour: left for the next prune
    assert WebhookDelivery.objects.count() == 1
