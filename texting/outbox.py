"""The outbox: claiming queued messages, handing them to the provider, writing results back.

At most once: a message reaches the provider only through the worker that claimed it, and a
failure that may have been accepted by the provider (ambiguous) is never retried automatically.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Contact
from texting.errors import describe
from texting.models import Message, MessageStatus
from texting.providers import get_provider
from texting.providers.base import FailureKind, OutboundSMS, Provider, ProviderError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claimed:
    id: int
    to_number: str
    body: str
    messaging_service_sid: str
    from_number: str
    send_before: dt.datetime | None
    contact_id: int | None
    attempts: int
    is_opt_out_notice: bool


CLAIM_COLUMNS = (
    "id, to_number, body, messaging_service_sid, from_number, send_before, contact_id, attempts, is_opt_out_notice"
)


def outbox_claim(*, messaging_service_sid: str, limit: int) -> list[Claimed]:
    """Move up to `limit` queued messages to `sending` and return them: one statement on PostgreSQL."""
    table = connection.ops.quote_name(Message._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET status = %s, attempts = attempts + 1 WHERE id IN ("  # noqa: S608 (quoted table name)
                f"  SELECT id FROM {table} WHERE status = %s AND messaging_service_sid = %s"
                f"  ORDER BY id FOR UPDATE SKIP LOCKED LIMIT %s"
                f") RETURNING {CLAIM_COLUMNS}",
                [MessageStatus.SENDING, MessageStatus.QUEUED, messaging_service_sid, limit],
            )
        else:
            # SQLite has no SKIP LOCKED; its write transaction (IMMEDIATE) serialises claimers.
            cursor.execute(
                f"UPDATE {table} SET status = %s, attempts = attempts + 1 WHERE id IN ("  # noqa: S608 (quoted table name)
                f"  SELECT id FROM {table} WHERE status = %s AND messaging_service_sid = %s ORDER BY id LIMIT %s"
                f") RETURNING {CLAIM_COLUMNS}",
                [MessageStatus.SENDING, MessageStatus.QUEUED, messaging_service_sid, limit],
            )
        rows = cursor.fetchall()
    return sorted((_claimed(row) for row in rows), key=lambda c: c.id)


def _claimed(row: tuple[object, ...]) -> Claimed:
    send_before = row[5]
    if isinstance(send_before, str):
        send_before = dt.datetime.fromisoformat(send_before)
    if isinstance(send_before, dt.datetime) and timezone.is_naive(send_before):
        # SQLite hands raw queries naive datetimes; they are stored in UTC.
        send_before = send_before.replace(tzinfo=dt.UTC)
    return Claimed(
        id=int(row[0]),  # type: ignore[call-overload]
        to_number=str(row[1]),
        body=str(row[2]),
        messaging_service_sid=str(row[3]),
        from_number=str(row[4]),
        send_before=send_before,  # type: ignore[arg-type]
        contact_id=row[6],  # type: ignore[arg-type]
        attempts=int(row[7]),  # type: ignore[call-overload]
        is_opt_out_notice=bool(row[8]),
    )


def _unsendable_reasons(batch: list[Claimed]) -> dict[int, str]:
    """Re-check at send time what may have changed since the message was queued."""
    now = timezone.now()
    contact_ids = [c.contact_id for c in batch if c.contact_id is not None]
    state = {
        row["id"]: row
        for row in Contact.objects.filter(id__in=contact_ids).values("id", "is_opted_out", "campaign__is_archived")
    }
    reasons: dict[int, str] = {}
    for claimed in batch:
        contact = state.get(claimed.contact_id) if claimed.contact_id is not None else None
        if contact is not None and contact["is_opted_out"] and not claimed.is_opt_out_notice:
            reasons[claimed.id] = "The contact opted out after this message was queued."
        elif contact is not None and contact["campaign__is_archived"]:
            reasons[claimed.id] = "The campaign was archived before this message was sent."
        elif claimed.send_before is not None and claimed.send_before <= now:
            reasons[claimed.id] = "Texting hours ended before this message could be sent."
    return reasons


def outbox_send_batch(*, batch: list[Claimed], provider: Provider) -> list[tuple[OutboundSMS, str]]:
    """Send a claimed batch and write every result back in one statement; returns what was accepted."""
    reasons = _unsendable_reasons(batch)
    now = timezone.now()
    status_callback = f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status"
    updates: list[Message] = []
    accepted: list[tuple[OutboundSMS, str]] = []
    for claimed in batch:
        result = Message(pk=claimed.id, attempts=claimed.attempts)
        updates.append(result)
        if claimed.id in reasons:
            result.status, result.status_note = MessageStatus.CANCELLED, reasons[claimed.id]
            continue
        outbound = OutboundSMS(
            to=claimed.to_number,
            body=claimed.body,
            messaging_service_sid=claimed.messaging_service_sid,
            from_number=claimed.from_number,
            status_callback=status_callback,
            send_before=claimed.send_before,
        )
        try:
            sent = provider.send(outbound)
        except ProviderError as exc:
            result.error_code = exc.code
            if exc.kind is FailureKind.AMBIGUOUS:
                result.status, result.status_note = (
                    MessageStatus.REVIEW,
                    "The provider may have sent it; check before resending.",
                )
            elif exc.kind is FailureKind.TRANSIENT and claimed.attempts < MAX_ATTEMPTS:
                result.status, result.status_note = MessageStatus.QUEUED, f"Retrying: {exc}"
            else:
                info = describe(exc.code)
                result.status = MessageStatus.FAILED
                result.status_note = (info.description if info else str(exc))[:200]
            continue
        result.status, result.provider_sid, result.sent_at = MessageStatus.SENT, sent.sid, now
        accepted.append((outbound, sent.sid))
    Message.objects.bulk_update(
        updates, ["status", "status_note", "provider_sid", "sent_at", "error_code"], batch_size=1000
    )
    return accepted


def outbox_drain(*, messaging_service_sid: str, batch_size: int | None = None) -> int:
    """Send everything queued for the messaging service, a batch at a time; returns how many were handled."""
    provider = get_provider()
    limit = batch_size or settings.SEND_BATCH_SIZE
    handled = 0
    while True:
        batch = outbox_claim(messaging_service_sid=messaging_service_sid, limit=limit)
        if not batch:
            return handled
        accepted = outbox_send_batch(batch=batch, provider=provider)
        handled += len(batch)
        _apply_provider_reactions(provider=provider, accepted=accepted)


def _apply_provider_reactions(*, provider: Provider, accepted: list[tuple[OutboundSMS, str]]) -> None:
    """Feed what the provider reports back into the webhook services (only the fake provider reports here)."""
    from texting.providers.base import SendResult
    from texting.services import message_receive, message_status_update

    for outbound, sid in accepted:
        statuses, replies = provider.reactions(outbound, SendResult(sid=sid, status="queued"))
        for report in statuses:
            message_status_update(report=report)
        for inbound in replies:
            message_receive(inbound=inbound)
