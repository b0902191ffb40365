"""What operations need to know about messages: the outbox's depth and age, messages waiting for
review, errors by code, and resuming the outbox after maintenance.

Every read here is cheap on a table of hundreds of millions of messages: the outbox reads use the
partial index on queued messages (`message_outbox`, small by design); the review and error reads
go through the campaign stats index (`message_campaign_stats`: campaign, direction, status) for
the few statuses they need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from texting.errors import describe
from texting.models import Direction, Message, MessageStatus

Gauge = tuple[str, str, list[tuple[dict[str, str], float]]]


def _due(now: dt.datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def outbox_depth(*, organization_ids: list[int] | None = None) -> list[dict[str, object]]:
    """Queued messages per messaging service, with the oldest one's queue time: one statement."""
    queued = Message.objects.filter(status=MessageStatus.QUEUED)
    if organization_ids is not None:
        queued = queued.filter(organization_id__in=organization_ids)
    return list(
        queued.order_by()
        .values("messaging_service_sid")
        .annotate(n=Count("id"), oldest=Min("queued_at"))
        .order_by("messaging_service_sid")
    )


def outbox_lag_seconds(*, now: dt.datetime | None = None) -> float:
    """How long the oldest message that is due (not waiting for a retry) has waited: one statement."""
    now = now or timezone.now()
    oldest = (
        Message.objects.filter(status=MessageStatus.QUEUED)
        .filter(_due(now))
        .aggregate(oldest=Min("queued_at"))["oldest"]
    )
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def outbox_gauges() -> Iterable[Gauge]:
    """/metrics gauges: queue depth and oldest age per messaging service, and the due lag."""
    now = timezone.now()
    rows = outbox_depth()
    depth = [({"messaging_service": str(r["messaging_service_sid"] or "default")}, float(r["n"])) for r in rows]  # type: ignore[arg-type]
    ages = [
        (
            {"messaging_service": str(r["messaging_service_sid"] or "default")},
            max((now - r["oldest"]).total_seconds(), 0.0) if isinstance(r["oldest"], dt.datetime) else 0.0,
        )
        for r in rows
    ]
    yield "outbox_queued_messages", "Messages waiting in the outbox (queued), per messaging service.", depth
    yield "outbox_oldest_queued_age_seconds", "Age of the oldest queued message, per messaging service.", ages
    yield (
        "outbox_due_lag_seconds",
        "How long the oldest message that is due to go (not waiting for a retry) has waited.",
        [({}, outbox_lag_seconds(now=now))],
    )


def outbox_resume() -> list[str]:
    """Kick the drain of every messaging service with queued messages (after maintenance)."""
    from texting.services import outbox_kick

    services = sorted(
        set(
            Message.objects.filter(status=MessageStatus.QUEUED)
            .order_by()
            .values_list("messaging_service_sid", flat=True)
            .distinct()
        )
    )
    with transaction.atomic():
        for service in services:
            outbox_kick(messaging_service_sid=service)
    return services


# --- The system page: review and errors, cut to the organizer's organizations ------------------------


def _outbound_in(organization_ids: list[int] | None) -> QuerySet[Message]:
    messages = Message.objects.filter(direction=Direction.OUTBOUND, campaign__isnull=False)
    if organization_ids is not None:
        messages = messages.filter(campaign__organization_id__in=organization_ids)
    return messages


def review_messages_list(*, organization_ids: list[int] | None, limit: int = 100) -> list[Message]:
    return list(
        _outbound_in(organization_ids)
        .filter(status=MessageStatus.REVIEW)
        .select_related("campaign", "contact")
        .order_by("id")[:limit]
    )


@dataclass(frozen=True)
class ErrorRow:
    code: int
    count: int
    description: str


def errors_by_code(*, organization_ids: list[int] | None) -> list[ErrorRow]:
    """Failed and undelivered messages by provider error code, with the catalog's description."""
    rows = (
        _outbound_in(organization_ids)
        .filter(status__in=[MessageStatus.FAILED, MessageStatus.UNDELIVERED], error_code__isnull=False)
        .order_by()
        .values("error_code")
        .annotate(n=Count("id"))
        .order_by("-n", "error_code")
    )
    result = []
    for row in rows:
        info = describe(row["error_code"])
        result.append(ErrorRow(row["error_code"], row["n"], info.description if info else ""))
    return result


RELEASED_NOTE = "Released for sending again by {who} after review."
FAILED_NOTE = "Marked failed by {who} after review."


def review_messages_fail(*, organization_ids: list[int] | None, message_ids: list[int], acting: str) -> int:
    """Mark messages waiting for review as failed (the provider did not send them, or it does not matter)."""
    return (
        _outbound_in(organization_ids)
        .filter(pk__in=message_ids, status=MessageStatus.REVIEW)
        .update(status=MessageStatus.FAILED, status_note=FAILED_NOTE.format(who=acting)[:200])
    )


def review_messages_release(*, organization_ids: list[int] | None, message_ids: list[int], acting: str) -> int:
    """Put messages waiting for review back in the outbox: the person checked the provider never sent them.

    The drain re-checks each one as usual (opt-outs, archived campaigns, the end of texting hours).
    """
    from texting.services import outbox_kick

    with transaction.atomic():
        released = list(
            _outbound_in(organization_ids)
            .filter(pk__in=message_ids, status=MessageStatus.REVIEW)
            .select_for_update()
            .values_list("pk", "messaging_service_sid")
        )
        if not released:
            return 0
        Message.objects.filter(pk__in=[pk for pk, _ in released]).update(
            status=MessageStatus.QUEUED,
            status_note=RELEASED_NOTE.format(who=acting)[:200],
            next_attempt_at=None,
            queued_at=timezone.now(),
        )
        for service in sorted({service for _, service in released}):
            outbox_kick(messaging_service_sid=service)
    return len(released)
