"""Every write to webhook endpoints and deliveries, and the HTTP call that delivers an event."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization, User
from core.errors import ApplicationError
from core.jobs import enqueue, rq_queue_get
from integrations.models import TEST_EVENT, DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from integrations.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

RESPONSE_BODY_KEPT = 500


def endpoint_create(
    *,
    organization: Organization,
    url: str,
    events: Iterable[str],
    description: str = "",
    acting_user: User | None = None,
) -> WebhookEndpoint:
    """Register an endpoint; refuses (ApplicationError) an address that is not http(s) or an unknown event."""
    endpoint = WebhookEndpoint(
        organization=organization, url=url.strip(), events=sorted(set(events)), description=description
    )
    try:
        endpoint.full_clean(exclude=["organization"])
    except ValidationError as error:
        raise ApplicationError(" ".join(" ".join(messages) for messages in error.message_dict.values())) from error
    endpoint.save()
    logger.info(
        "webhook endpoint %s added to organization %s by user %s",
        endpoint.pk,
        organization.pk,
        getattr(acting_user, "pk", None),
    )
    return endpoint


def _body(*, event: str, organization_id: int, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "organization_id": organization_id, "occurred_at": occurred_at, "data": data}


@transaction.atomic
def deliveries_create(
    *, organization_id: int, event: str, payload: dict[str, Any], occurred_at: str
) -> list[WebhookDelivery]:
    """One logged delivery per active endpoint of the organization that wants `event`, each queued."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True)
        if event in (endpoint.events or [])
    ]
    body = _body(event=event, organization_id=organization_id, occurred_at=occurred_at, data=payload)
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=endpoint, event=event, payload=body) for endpoint in endpoints]
    )
    for delivery in deliveries:
        _queue(delivery.pk)
    return deliveries


def endpoint_send_test(*, endpoint: WebhookEndpoint, acting_user: User | None = None) -> WebhookDelivery:
    """The admin's "send test event" button: a `webhook.test` event to this endpoint only."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=TEST_EVENT,
            payload=_body(
                event=TEST_EVENT,
                organization_id=endpoint.organization_id,
                occurred_at=timezone.now().isoformat(),
                data={"message": "A test event from Spoke.", "sent_by": getattr(acting_user, "email", "")},
            ),
        )
        _queue(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _queue(delivery_id: int) -> None:
    from integrations import jobs

    enqueue(jobs.webhook_deliver, queue="default", delivery_id=delivery_id)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: the base delay, doubled after each failed attempt."""
    return dt.timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """POST the delivery's JSON, signed, to its endpoint and log the outcome.

    Claims the attempt with one conditional update, so a job delivered twice sends once. A 2xx
    answer succeeds; anything else (or no answer within WEBHOOK_TIMEOUT_SECONDS) is retried with
    backoff until WEBHOOK_MAX_ATTEMPTS, then the delivery is marked failed.
    """
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
    ).update(attempts=F("attempts") + 1, next_attempt_at=None)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    refused = address_refused(endpoint.url)
    if refused:
        # Not worth retrying: the address will not become public by itself.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, error=refused)
        delivery.status, delivery.error = DeliveryStatus.FAILED, refused
        return delivery
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310 (the URL is validated as http(s) on save)
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Spoke-Webhooks/1",
            SIGNATURE_HEADER: signature_header(secret=endpoint.secret, body=body),
            "Spoke-Event": delivery.event,
            "Spoke-Delivery": str(delivery.pk),
        },
    )
    started = time.monotonic()
    code: int | None = None
    answer = ""
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            code = response.status
            answer = response.read(RESPONSE_BODY_KEPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        code = exc.code
        answer = exc.read(RESPONSE_BODY_KEPT).decode("utf-8", "replace")
        error = f"The endpoint answered HTTP {exc.code}."
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        error = f"No answer from the endpoint ({reason})."[:500]
    elapsed_ms = int((time.monotonic() - started) * 1000)
    values: dict[str, Any] = {
        "response_code": code,
        "response_ms": elapsed_ms,
        "response_body": answer,
        "error": error,
    }
    if code is not None and 200 <= code < 300:
        values.update(status=DeliveryStatus.SUCCEEDED, delivered_at=timezone.now(), error="")
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        values.update(status=DeliveryStatus.FAILED)
    else:
        values.update(status=DeliveryStatus.RETRYING, next_attempt_at=timezone.now() + retry_delay(delivery.attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**values)
    for name, value in values.items():
        setattr(delivery, name, value)
    if delivery.status == DeliveryStatus.RETRYING:
        _schedule_retry(delivery)
    return delivery


def address_refused(url: str) -> str:
    """Why Spoke will not POST to this address (empty when it will).

    In production (WEBHOOK_ALLOW_PRIVATE_ADDRESSES off) an endpoint must resolve to public
    addresses only: otherwise an organizer could make the server call, and read back the answers
    of, services on its private network or the cloud metadata address.
    """
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return f"The endpoint's host name {host!r} does not resolve: check the address."
    for address in addresses:
        if not ipaddress.ip_address(str(address).split("%", 1)[0]).is_global:
            return f"The endpoint's address {host!r} is private or local: webhooks only go to public addresses."
    return ""


def _schedule_retry(delivery: WebhookDelivery) -> None:
    """With workers, RQ's scheduler runs the next attempt at `next_attempt_at`. Without Redis
    (`make run`) nothing waits in the background: `deliveries_retry_due` picks them up."""
    if settings.JOBS_SYNC:
        return
    from integrations import jobs

    assert delivery.next_attempt_at is not None
    rq_queue_get("default").enqueue_at(
        delivery.next_attempt_at, jobs.webhook_deliver, kwargs={"delivery_id": delivery.pk}, failure_ttl=7 * 24 * 3600
    )


def deliveries_retry_due(*, now: dt.datetime | None = None) -> int:
    """Queue every delivery whose next attempt is due (a lost scheduled job, or no workers)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    for delivery_id in due:
        delivery_attempt(delivery_id=delivery_id)
    return len(due)


def deliveries_prune(*, now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """Delete finished deliveries (delivered or given up) older than WEBHOOK_DELIVERY_KEEP_DAYS.

    Deliveries still waiting or retrying are kept whatever their age. Deleted in batches, so a
    large backlog never holds a long lock on the log.
    """
    if settings.WEBHOOK_DELIVERY_KEEP_DAYS <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WEBHOOK_DELIVERY_KEEP_DAYS)
    finished = WebhookDelivery.objects.filter(
        created_at__lt=cutoff, status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED]
    )
    deleted = 0
    while batch := list(finished.values_list("pk", flat=True)[:batch_size]):
        deleted += WebhookDelivery.objects.filter(pk__in=batch).delete()[0]
    return deleted


__all__ = [
    "Event",
    "deliveries_create",
    "deliveries_prune",
    "delivery_attempt",
    "endpoint_create",
    "endpoint_send_test",
]
