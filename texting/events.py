"""Integration events about messages, built only when some organization's webhook wants them."""

from __future__ import annotations

from integrations.events import event_emit, event_wanted_anywhere
from integrations.models import Event
from texting.models import Message, MessageStatus

_EVENT_FOR_STATUS = {
    MessageStatus.DELIVERED: Event.MESSAGE_DELIVERED,
    MessageStatus.UNDELIVERED: Event.MESSAGE_FAILED,
    MessageStatus.FAILED: Event.MESSAGE_FAILED,
}


def message_status_event_emit(*, sid: str, status: str, changed: bool) -> None:
    """On a delivery report that moved a message to delivered, undelivered or failed.

    The delivery-report path has a two-statement budget: with no endpoint anywhere wanting the
    event this reads nothing; otherwise one statement fetches the message for the payload.
    """
    event = _EVENT_FOR_STATUS.get(MessageStatus(status)) if changed else None
    if event is None or not event_wanted_anywhere(event):
        return
    row = (
        Message.objects.filter(provider_sid=sid)
        .values(
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
        .first()
    )
    if row is None or row["organization_id"] is None:
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
