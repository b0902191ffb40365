"""Message review: an organizer answers a conversation from the back office.

The texter path (`texting.services.message_send`) locks the contact *for its texter*; an organizer
reviewing conversations is not that texter, so this path locks the contact by id (the admin has
already checked the organizer's role in its organization) and records the organizer as the sender.
The same rules hold: never to an opted-out contact, never outside texting hours, never in a
campaign that is not running.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from campaigns.hours import zone
from campaigns.models import Contact, ContactStatus
from campaigns.selectors import campaign_texting_window
from core.errors import ApplicationError
from core.live import publish_on_commit, texter_group
from texting.models import Message
from texting.segments import clean_text
from texting.services import contact_timezone_name, outbound_message_queue, outbox_kick


def review_message_send(*, acting_user: User, contact_id: int, body: str) -> Message:
    """Queue `body` to the contact as `acting_user`, the organizer reviewing the conversation."""
    now = timezone.now()
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("campaign", "campaign__organization", "assignment")
            .get(pk=contact_id)
        )
        campaign = contact.campaign
        if campaign.is_archived or not campaign.is_started:
            raise ApplicationError("This campaign is not running, so it can't send messages.")
        if contact.is_opted_out:
            raise ApplicationError("This contact opted out: nothing can be sent to them.")
        window = campaign_texting_window(campaign=campaign)
        tz = zone(contact_timezone_name(contact, campaign))
        if not window.is_open(now, tz):
            raise ApplicationError(
                f"It's outside texting hours for this contact ({now.astimezone(tz):%-I:%M %p} their time). "
                "Try again during texting hours."
            )
        body = clean_text(body).strip()
        if not body:
            raise ApplicationError("Write a message before sending.")
        message = outbound_message_queue(
            contact=contact, sender=acting_user, body=body, send_before=window.closes_at(now, tz), now=now
        )
        # An answered conversation no longer waits for a reply; a first message starts one.
        new_status = ContactStatus.MESSAGED if contact.status == ContactStatus.NEEDS_MESSAGE else ContactStatus.CONVO
        Contact.objects.filter(pk=contact.pk).update(status=new_status, updated_at=now)
        contact.status = new_status
        if contact.assignment is not None:
            publish_on_commit(texter_group(contact.assignment.texter_id), "contact_changed", contact_id=contact.pk)
        outbox_kick(messaging_service_sid=message.messaging_service_sid)
    return message
