"""Integration events about messages, built only when some organization's webhook wants them."""

from __future__ import annotations

from typing import Any

from integrations.events import event_emit, event_wanted_anywhere
from integrations.models import Event
from texting.models import Message, MessageStatus

_EVENT_FOR_STATUS = {
    MessageStatus.DELIVERED: Event.MESSAGE_DELIVERED,
    MessageStatus.UNDELIVERED: Event.MESSAGE_FAILED,
    MessageStatus.FAILED: Event.MESSAGE_FAILED,
}


_PAYLOAD_FIELDS = (
    "id",
    "organization_id",
    "campaign_id",
    "contact_id",
    "texter_id",
    "status",
    "error_code",
    "to_number",
    "contact__external_id",
)


def message_status_event_emit(*, sid: str, status: str, changed: bool) -> None:
    """On a delivery report that moved a message to delivered, undelivered or failed.

    The delivery-report path has a two-statement budget: with no endpoint anywhere wanting the
    event this reads nothing; otherwise one statement fetches the message for the payload.
    """
    event = _EVENT_FOR_STATUS.get(MessageStatus(status)) if changed else None
    if event is None or not event_wanted_anywhere(event):
        return
    row = Message.objects.filter(provider_sid=sid).values(*_PAYLOAD_FIELDS).first()
    if row is not None:
        _emit(event, row)


def messages_failed_event_emit(*, message_ids: list[int]) -> None:
    """For messages the outbox gave up on at send time (the provider refused them): one statement
    for the whole batch, none when no endpoint anywhere wants `message.failed`."""
    if not message_ids or not event_wanted_anywhere(Event.MESSAGE_FAILED):
        return
    for row in Message.objects.filter(pk__in=message_ids).values(*_PAYLOAD_FIELDS):
        _emit(Event.MESSAGE_FAILED, row)


def _emit(event: str, row: dict[str, Any]) -> None:
    if row["organization_id"] is None:
        return
    payload = {
        "message_id": row["id"],
        "campaign_id": row["campaign_id"],
        "contact_id": row["contact_id"],
        "texter_id": row["texter_id"],
        "status": row["status"],
        "error_code": row["error_code"],
        "cell": row["to_number"],
        "external_id": row["contact__external_id"] or "",
    }
    event_emit(organization_id=row["organization_id"], event=event, payload=payload)
