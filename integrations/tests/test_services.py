"""Deliveries: signed POSTs to a real receiver, logged, retried with backoff, given up on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import django_rq
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from redis import Redis
from rq.registry import ScheduledJobRegistry

from accounts.models import Organization
from core.errors import ApplicationError
from integrations.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from integrations.services import (
    deliveries_create,
    deliveries_prune,
    deliveries_retry_due,
    endpoint_create,
    endpoint_send_test,
    retry_delay,
)
from integrations.tests.conftest import Receiver

# Deliveries are jobs queued on commit: these tests commit, as production does.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("url", "problem"),
    [("ftp://example.org/x", "https://"), ("not a url", "https://"), ("https://user:pw@example.org/", "passwords")],
)
def test_endpoint_url_must_be_http_or_https(organization: Organization, url: str, problem: str) -> None:
    with pytest.raises(ApplicationError, match=problem):
        endpoint_create(organization=organization, url=url, events=[Event.TAG_APPLIED])


def test_endpoint_refuses_an_unknown_event(organization: Organization) -> None:
    with pytest.raises(ApplicationError, match=r"Unknown events: tag\.removed"):
        endpoint_create(organization=organization, url="https://example.org/hook", events=["tag.removed"])


def test_delivery_is_signed_and_logged(endpoint: WebhookEndpoint, receiver: Receiver) -> None:
    [delivery] = deliveries_create(
        organization_id=endpoint.organization_id,
        event=Event.TAG_APPLIED,
        payload={"contact_id": 7},
        occurred_at="2026-11-03T09:00:00+00:00",
    )
    delivery.refresh_from_db()
    assert receiver.bad_signatures == 0
    assert receiver.received == [
        {
            "event": "tag.applied",
            "organization_id": endpoint.organization_id,
            "occurred_at": "2026-11-03T09:00:00+00:00",
            "data": {"contact_id": 7},
        }
    ]
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.response_body == "thanks" and delivery.response_ms is not None and delivery.delivered_at


def test_a_wrong_secret_is_refused_by_the_receiver(endpoint: WebhookEndpoint, receiver: Receiver) -> None:
    receiver.secret = "not-the-secret"
    [delivery] = deliveries_create(
        organization_id=endpoint.organization_id, event=Event.TAG_APPLIED, payload={}, occurred_at="now"
    )
    delivery.refresh_from_db()
    assert receiver.bad_signatures == 1
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.RETRYING, 401)


def test_failed_delivery_is_retried_with_backoff_until_it_succeeds(
    endpoint: WebhookEndpoint, receiver: Receiver, settings: SettingsWrapper
) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.answers = [500, 503]
    before = timezone.now()
    [delivery] = deliveries_create(
        organization_id=endpoint.organization_id, event=Event.OPTOUT_CREATED, payload={}, occurred_at="now"
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.RETRYING, 1, 500)
    assert delivery.next_attempt_at is not None
    assert dt.timedelta(seconds=29) < delivery.next_attempt_at - before < dt.timedelta(seconds=40)
    assert "HTTP 500" in delivery.error
    assert deliveries_retry_due() == 0  # not due yet
    assert deliveries_retry_due(now=timezone.now() + dt.timedelta(seconds=31)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 2)
    assert deliveries_retry_due(now=timezone.now() + dt.timedelta(seconds=61)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 3, 200)
    assert len(receiver.received) == 3


def test_backoff_doubles(settings: SettingsWrapper) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]


def test_delivery_gives_up_after_the_last_attempt(
    endpoint: WebhookEndpoint, receiver: Receiver, settings: SettingsWrapper
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.answers = [500, 500, 500]
    [delivery] = deliveries_create(
        organization_id=endpoint.organization_id, event=Event.OPTOUT_CREATED, payload={}, occurred_at="now"
    )
    deliveries_retry_due(now=timezone.now() + dt.timedelta(days=1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert deliveries_retry_due(now=timezone.now() + dt.timedelta(days=2)) == 0


def test_an_unreachable_endpoint_is_logged_as_no_answer(organization: Organization) -> None:
    endpoint = endpoint_create(organization=organization, url="http://127.0.0.1:9/hook", events=[Event.TAG_APPLIED])
    [delivery] = deliveries_create(
        organization_id=organization.pk, event=Event.TAG_APPLIED, payload={}, occurred_at="x"
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.response_code is None
    assert delivery.error.startswith("No answer from the endpoint")
    assert endpoint.deliveries.count() == 1


def test_only_active_endpoints_that_want_the_event_get_it(
    organization: Organization, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    endpoint_create(organization=organization, url="https://example.org/other", events=[Event.CAMPAIGN_STARTED])
    WebhookEndpoint.objects.create(organization=organization, url=receiver.url, events=Event.values, is_active=False)
    deliveries = deliveries_create(
        organization_id=organization.pk, event=Event.TAG_APPLIED, payload={}, occurred_at="x"
    )
    assert [d.endpoint_id for d in deliveries] == [endpoint.pk]


def test_send_test_event(endpoint: WebhookEndpoint, receiver: Receiver) -> None:
    delivery = endpoint_send_test(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert receiver.events == ["webhook.test"]


# --- With workers: the retry is a scheduled RQ job --------------------------------------------------


@pytest.fixture
def rq_on_redis(settings: SettingsWrapper) -> Iterator[Redis]:
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/9"
    settings.JOBS_SYNC = False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in ("default", "sends", "imports")}
    connection = Redis.from_url(url)
    connection.ping()
    queue = django_rq.get_queue("default")
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    queue.empty()
    yield connection
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    queue.empty()


def test_with_workers_a_failed_attempt_schedules_the_next_one(
    rq_on_redis: Redis, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    from integrations.services import delivery_attempt

    receiver.answers = [500]
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=Event.TAG_APPLIED, payload={})
    attempted = delivery_attempt(delivery_id=delivery.pk)
    assert attempted is not None and attempted.status == DeliveryStatus.RETRYING
    registry = ScheduledJobRegistry(queue=django_rq.get_queue("default"))
    [job_id] = registry.get_job_ids()
    job = django_rq.get_queue("default").fetch_job(job_id)
    assert job is not None and job.kwargs == {"delivery_id": delivery.pk}
    scheduled_at = registry.get_scheduled_time(job_id)
    assert abs((scheduled_at - attempted.next_attempt_at).total_seconds()) < 1  # type: ignore[operator]


def test_retry_webhooks_command_sends_due_deliveries(endpoint: WebhookEndpoint, receiver: Receiver) -> None:
    import io

    from django.core.management import call_command

    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=Event.TAG_APPLIED,
        payload={"event": "tag.applied"},
        status=DeliveryStatus.RETRYING,
        attempts=1,
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
    )
    out = io.StringIO()
    call_command("retry_webhooks", stdout=out)
    assert out.getvalue().strip() == "Retried 1 webhook delivery."
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)


def test_private_addresses_are_refused_when_not_allowed(
    endpoint: WebhookEndpoint, receiver: Receiver, settings: SettingsWrapper
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    [delivery] = deliveries_create(
        organization_id=endpoint.organization_id, event=Event.TAG_APPLIED, payload={}, occurred_at="x"
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "private or local" in delivery.error
    assert receiver.received == []


def test_address_check_accepts_public_and_refuses_metadata_addresses(settings: SettingsWrapper) -> None:
    from integrations.services import address_refused

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    assert address_refused("http://169.254.169.254/latest/meta-data/")
    assert address_refused("http://10.0.0.5/hook")
    assert address_refused("http://[::1]/hook")
    assert address_refused("https://93.184.215.14/hook") == ""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    assert address_refused("http://127.0.0.1/hook") == ""


def _delivery(endpoint: WebhookEndpoint, *, status: str, age_days: int) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=Event.TAG_APPLIED, payload={}, status=status)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - dt.timedelta(days=age_days))
    return delivery


def test_old_finished_deliveries_are_pruned_and_waiting_ones_kept(
    endpoint: WebhookEndpoint, settings: SettingsWrapper
) -> None:
    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 30
    old_done = [_delivery(endpoint, status=s, age_days=31) for s in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED)]
    kept = [
        _delivery(endpoint, status=DeliveryStatus.SUCCEEDED, age_days=29),
        _delivery(endpoint, status=DeliveryStatus.RETRYING, age_days=40),
        _delivery(endpoint, status=DeliveryStatus.PENDING, age_days=40),
    ]
    assert deliveries_prune(batch_size=1) == 2  # batches loop until nothing is left
    remaining = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert remaining == {d.pk for d in kept}
    assert not remaining & {d.pk for d in old_done}


def test_keep_days_zero_keeps_the_whole_log(endpoint: WebhookEndpoint, settings: SettingsWrapper) -> None:
    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 0
    _delivery(endpoint, status=DeliveryStatus.SUCCEEDED, age_days=400)
    assert deliveries_prune() == 0
    assert WebhookDelivery.objects.count() == 1


def test_retry_webhooks_command_also_prunes_the_log(endpoint: WebhookEndpoint, settings: SettingsWrapper) -> None:
    import io

    from django.core.management import call_command

    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 30
    _delivery(endpoint, status=DeliveryStatus.SUCCEEDED, age_days=31)
    out = io.StringIO()
    call_command("retry_webhooks", stdout=out)
    assert "Deleted 1 finished deliveries older than 30 days." in out.getvalue()
    assert not WebhookDelivery.objects.exists()
