"""Sending, receiving and the texter's conversation actions.

The send and inbound paths are the hot paths: each is a fixed handful of statements whatever
the size of the campaign (query budgets in tests/test_services_send.py and test_services_inbound.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from campaigns.hours import zone
from campaigns.models import Campaign, Contact, ContactStatus, InteractionStep, OptOutSource
from campaigns.scripts import render_script, script_fields
from campaigns.selectors import campaign_texting_window
from campaigns.services import (
    contact_close,
    contact_reopen,
    contact_tags_set,
    optout_create,
    optout_remove,
    question_response_set,
)
from core.errors import ApplicationError
from core.jobs import enqueue_once
from core.live import publish_on_commit, publish_stats_changed, texter_group
from core.queries import raw_datetime
from ops.metrics import counters_add, histogram_observe
from texting.errors import ErrorAction, describe
from texting.events import message_status_event_emit
from texting.hot_sql import contact_lock_for_texter, reply_match, report_apply, row_insert, row_update
from texting.models import STATUS_RANK, Direction, Message, MessageStatus
from texting.providers.base import InboundSMS, StatusReport
from texting.segments import clean_text, segment_count

logger = logging.getLogger(__name__)

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})

NEXT_STATUS = {
    ContactStatus.NEEDS_MESSAGE: ContactStatus.MESSAGED,
    ContactStatus.MESSAGED: ContactStatus.MESSAGED,
    ContactStatus.NEEDS_RESPONSE: ContactStatus.CONVO,
    ContactStatus.CONVO: ContactStatus.CONVO,
    ContactStatus.CLOSED: ContactStatus.CONVO,
}


def messaging_service_for(campaign: Campaign) -> str:
    return (
        campaign.messaging_service_sid
        or campaign.organization.messaging_service_sid
        or settings.TWILIO_MESSAGING_SERVICE_SID
    )


def contact_timezone_name(contact: Contact, campaign: Campaign) -> str:
    return contact.timezone or campaign.timezone or campaign.organization.default_timezone


def _hour_label(hour: int) -> str:
    hour = hour % 24
    suffix = "am" if hour < 12 else "pm"
    return f"{hour % 12 or 12} {suffix}"


def _locked_contact_for_texter(*, texter: User, contact_id: int) -> Contact:
    """Lock the texter's contact row with its assignment, campaign and organization: one statement.

    Prepared SQL rather than the ORM (texting/hot_sql.py says why): every texter action runs it.
    A suspended member loses their contacts at once.
    """
    contact = contact_lock_for_texter(texter_id=texter.pk, contact_id=contact_id)
    if contact is None:
        raise ApplicationError(
            "This contact is no longer assigned to you (an organizer reassigned them) — moving on.",
            code="not_assigned",
            status=404,
        )
    return contact


def _check_campaign_sends(campaign: Campaign) -> None:
    if campaign.is_archived:
        raise ApplicationError("This campaign is archived: it no longer sends messages.", code="archived", status=409)
    if not campaign.is_started:
        raise ApplicationError("This campaign hasn't started yet.", code="not_started", status=409)


def message_send(
    *,
    texter: User,
    contact_id: int,
    body: str,
    send_key: uuid.UUID | None = None,
    now: dt.datetime | None = None,
    first_message: bool = False,
    opt_out_notice: bool = False,
) -> Message:
    """Queue a message from `texter` to their contact, within the contact's texting hours.

    The first message is the campaign's script filled in for the contact (the texter's `body`
    is used only when the campaign lets texters edit it). `send_key` identifies one press of
    Send: the same key twice is refused as a duplicate. `first_message` says the texter pressed
    Send on the first-message screen: a contact who was already texted (from another tab, or a
    prefetched contact) is refused rather than texted twice. Three statements: lock, insert, update.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contact = _locked_contact_for_texter(texter=texter, contact_id=contact_id)
        campaign = contact.campaign
        _check_campaign_sends(campaign)
        if contact.is_opted_out and not opt_out_notice:
            raise ApplicationError("This contact opted out — moving on.", code="opted_out", status=409)
        if send_key is not None and contact.last_send_key == send_key:
            raise ApplicationError("That message was already sent.", code="duplicate", status=409)
        if first_message and contact.status != ContactStatus.NEEDS_MESSAGE:
            raise ApplicationError("This contact was already texted — moving on.", code="already_messaged", status=409)
        window = campaign_texting_window(campaign=campaign)
        tz = zone(contact_timezone_name(contact, campaign))
        if not window.is_open(now, tz):
            local = now.astimezone(tz)
            raise ApplicationError(
                f"Texting hours for this contact are {_hour_label(window.start_hour)} to "
                f"{_hour_label(window.end_hour)} their time (it's {local:%-I:%M %p} there). "
                "They'll be back in your queue then.",
                code="outside_hours",
                status=409,
            )
        if (
            contact.status == ContactStatus.NEEDS_MESSAGE
            and not campaign.texters_can_edit_first_message
            and not opt_out_notice
        ):
            script: str = getattr(contact, "first_script", None) or ""
            body = render_script(
                script,
                script_fields(contact=contact, texter_first_name=texter.first_name, texter_last_name=texter.last_name),
            )
        body = clean_text(body).strip()
        if not body:
            raise ApplicationError("Write a message before sending.", code="empty")
        message = outbound_message_queue(
            contact=contact,
            sender=texter,
            body=body,
            send_before=window.closes_at(now, tz),
            now=now,
            opt_out_notice=opt_out_notice,
        )
        new_status = ContactStatus.CLOSED if opt_out_notice else NEXT_STATUS[ContactStatus(contact.status)]
        row_update(Contact, pk=contact.pk, values={"status": new_status, "last_send_key": send_key, "updated_at": now})
        contact.status = new_status
        outbox_kick(messaging_service_sid=message.messaging_service_sid)
        publish_stats_changed(campaign_id=campaign.pk)
    return message


def outbound_message_queue(
    *,
    contact: Contact,
    sender: User,
    body: str,
    send_before: dt.datetime | None,
    now: dt.datetime,
    opt_out_notice: bool = False,
) -> Message:
    """Insert `body` to the contact as a queued outbound message (one statement). Call inside the
    transaction that holds the contact's lock, after every check; the caller kicks the outbox."""
    campaign = contact.campaign
    message = Message(
        organization_id=campaign.organization_id,
        campaign_id=campaign.pk,
        contact=contact,
        texter=sender,
        direction=Direction.OUTBOUND,
        body=body,
        segments=segment_count(body),
        status=MessageStatus.QUEUED,
        provider=settings.SMS_BACKEND,
        to_number=contact.cell,
        messaging_service_sid=messaging_service_for(campaign),
        send_before=send_before,
        queued_at=now,
        is_opt_out_notice=opt_out_notice,
    )
    row_insert(message)  # Message.objects.create without compiling the INSERT (texting/hot_sql.py)
    return message


def outbox_kick(*, messaging_service_sid: str) -> None:
    """Make sure a drain job is waiting for this messaging service, once the transaction commits.

    Deduplicated: however many sends commit while one drain waits to start, it stays one job
    (core.jobs.enqueue_once); a send committed after the drain started queues the next one.
    """
    from texting.jobs import drain_outbox

    enqueue_once(
        drain_outbox,
        key=f"drain:{messaging_service_sid or 'default'}",
        queue="sends",
        messaging_service_sid=messaging_service_sid,
    )


# --- Texter conversation actions ---------------------------------------------------------------


def survey_answer_record(*, texter: User, contact_id: int, step_id: int) -> InteractionStep:
    """Record the contact's answer; returns the answer step, whose script fills the compose box."""
    with transaction.atomic():
        contact = _locked_contact_for_texter(texter=texter, contact_id=contact_id)
        step = InteractionStep.objects.filter(pk=step_id, campaign_id=contact.campaign_id).first()
        if step is None or step.parent_id is None:
            raise ApplicationError("That answer is not part of this campaign's script.", status=404)
        question_response_set(contact=contact, step=step)
    return step


def texter_opt_out(*, texter: User, contact_id: int, send_message: bool, message: str = "") -> bool:
    """Opt the contact out of the organization, optionally texting them the opt-out message first.

    The opt-out always happens; the notice is skipped when the contact's texting hours are over
    (a text at night is worse than no confirmation). Returns whether the notice was queued.
    """
    notice_queued = False
    with transaction.atomic():
        contact = _locked_contact_for_texter(texter=texter, contact_id=contact_id)
        if send_message and not contact.is_opted_out:
            body = message.strip() or contact.campaign.organization.opt_out_message
            try:
                with transaction.atomic():
                    message_send(texter=texter, contact_id=contact_id, body=body, opt_out_notice=True)
                notice_queued = True
            except ApplicationError as exc:
                if exc.code != "outside_hours":
                    raise
        optout_create(
            organization=contact.campaign.organization_id,
            cell=contact.cell,
            source=OptOutSource.TEXTER,
            acting_user=texter,
        )
    return notice_queued


def texter_skip(*, texter: User, contact_id: int) -> None:
    with transaction.atomic():
        contact = _locked_contact_for_texter(texter=texter, contact_id=contact_id)
        contact_close(contact=contact)


def conversation_reopen(*, contact: Contact) -> None:
    """Reopen a closed contact; one that was never texted goes back to the first-message queue."""
    was_messaged = Message.objects.filter(contact=contact, direction=Direction.OUTBOUND).exists()
    contact_reopen(contact=contact, was_messaged=was_messaged)


def texter_tags_set(*, texter: User, contact_id: int, tag_ids: list[int]) -> list[int]:
    with transaction.atomic():
        contact = _locked_contact_for_texter(texter=texter, contact_id=contact_id)
        return contact_tags_set(contact=contact, tag_ids=tag_ids, acting_user=texter)


# --- Inbound replies and delivery reports ------------------------------------------------------


def _insert_inbound(message: Message) -> bool:
    """Insert unless a message with this provider SID exists: one statement, safe under races."""
    return row_insert(message, skip_conflict_on="provider_sid")


def _keyword(body: str) -> str:
    """The reply as a keyword: trimmed, capitals, inner spaces collapsed, trailing punctuation gone."""
    return " ".join(body.split()).strip(" .!?").upper()


def is_opt_out_reply(body: str) -> bool:
    """STOP and the other carrier keywords, or an organization's configured phrase, as the whole message."""
    keyword = _keyword(body)
    return keyword in OPT_OUT_KEYWORDS or keyword in {_keyword(p) for p in settings.OPT_OUT_PHRASES}


def message_receive(*, inbound: InboundSMS) -> Message | None:
    """Store a reply from a contact and put the conversation in its texter's queue.

    Matched to the contact last texted at that cell from that messaging service (or, without
    one, from that number); a message that matches nobody is kept without a contact, listed for
    organizers as an unmatched reply. Idempotent on the provider SID (returns None for a repeat).
    Three statements on the common path: match, insert, contact update.
    """
    match = reply_match(
        from_number=inbound.from_number,
        to_number=inbound.to_number,
        messaging_service_sid=inbound.messaging_service_sid,
    )
    now = timezone.now()
    message = Message(
        organization_id=match.organization_id if match else None,
        campaign_id=match.campaign_id if match else None,
        contact_id=match.contact_id if match else None,
        texter_id=match.texter_id if match else None,
        direction=Direction.INBOUND,
        body=inbound.body,
        media_urls=list(inbound.media_urls),
        segments=max(inbound.num_segments, 1),
        status=MessageStatus.RECEIVED,
        provider=settings.SMS_BACKEND,
        provider_sid=inbound.sid,
        from_number=inbound.from_number,
        to_number=inbound.to_number,
        messaging_service_sid=inbound.messaging_service_sid,
        created_at=now,
    )
    with transaction.atomic():
        if not _insert_inbound(message):
            return None
        if match is None:
            logger.info("inbound message %s matched no contact; kept as unmatched", message.pk)
            return message
        publish_stats_changed(campaign_id=match.campaign_id)
        keyword = _keyword(inbound.body)
        if is_opt_out_reply(inbound.body):
            # The carrier already answered a STOP: texting a confirmation would draw error 21610.
            optout_create(organization=match.organization_id, cell=inbound.from_number, source=OptOutSource.KEYWORD)
        else:
            if keyword in OPT_IN_KEYWORDS:
                optout_remove(
                    organization=match.organization_id,
                    cell=inbound.from_number,
                    reason=f"texted {keyword}",
                    acting_user=None,
                )
            row_update(
                Contact,
                pk=match.contact_id,
                values={"status": ContactStatus.NEEDS_RESPONSE, "updated_at": now},
                where={"is_opted_out": False},
            )
        texter_id = match.texter_id
        if texter_id is not None:
            publish_on_commit(
                texter_group(texter_id),
                "reply_received",
                contact_id=match.contact_id,
                campaign_id=match.campaign_id,
                message_id=message.pk,
            )
    return message


PROVIDER_STATUS = {
    "queued": MessageStatus.SENT,
    "accepted": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}


def message_status_update(*, report: StatusReport) -> bool:
    """Apply a delivery report; a status never moves backwards, a repeat changes nothing.

    Found by our message id when the report carries it (from the StatusCallback URL: the report
    may arrive before the worker wrote the provider SID, which it then records), else by SID.
    One statement for a report without an error; with an error, one more records it on the
    contact (and closes it for a dead number); opting out after 21610 costs a few more.
    """
    new_status = PROVIDER_STATUS.get(report.status)
    if new_status is None or not report.sid:
        return False
    earlier = [str(status) for status, rank in STATUS_RANK.items() if rank < STATUS_RANK[new_status]]
    values: dict[str, object] = {"status": new_status}
    if new_status == MessageStatus.DELIVERED:
        values["delivered_at"] = timezone.now()
    if report.error_code is None:
        # UPDATE … RETURNING names the campaign whose dashboard changed, in the one statement.
        changed = report_apply(sid=report.sid, message_id=report.message_id, values=values, earlier=earlier)
        message_status_event_emit(sid=report.sid, status=new_status, changed=bool(changed))
        for row in changed:
            publish_stats_changed(campaign_id=row.campaign_id)
            _count_report(new_status, None, row.sent_at)
        return bool(changed)
    values["error_code"] = report.error_code
    with transaction.atomic():
        # With an error the contact is needed too: UPDATE … RETURNING saves reading the message again.
        rows = report_apply(sid=report.sid, message_id=report.message_id, values=values, earlier=earlier)
        message_status_event_emit(sid=report.sid, status=new_status, changed=bool(rows))
        if not rows:
            return False
        row = rows[0]
        _count_report(new_status, report.error_code, row.sent_at)
        publish_stats_changed(campaign_id=row.campaign_id)
        if row.contact_id is not None:
            _error_action(
                contact_id=row.contact_id,
                organization_id=row.organization_id,
                texter_id=row.texter_id,
                code=report.error_code,
            )
    return True


def _count_report(status: str, error_code: int | None, sent_at: object) -> None:
    """A final delivery report in the shared counters, and how long after the send it came (/metrics)."""
    if status == MessageStatus.SENT:
        return  # "sent" was counted when the provider accepted the message
    counters_add("messages", flush=False, outcome=str(status), code=str(error_code or ""))
    sent = raw_datetime(sent_at)
    if sent is not None:
        lag = max((timezone.now() - sent).total_seconds(), 0.0)
        histogram_observe("status_callback_lag_seconds", lag, flush=False)


def message_error_action(*, message_id: int, code: int) -> None:
    """Do what the error catalog says about `code` for this message's contact (a send-time failure)."""
    row = Message.objects.filter(pk=message_id).values("contact_id", "organization_id", "texter_id").first()
    if row is None or row["contact_id"] is None:
        return
    with transaction.atomic():
        _error_action(
            contact_id=row["contact_id"], organization_id=row["organization_id"], texter_id=row["texter_id"], code=code
        )


def _error_action(*, contact_id: int, organization_id: int | None, texter_id: int | None, code: int) -> None:
    """Record the error on the contact and act on it: 21610 opts the cell out, a number that can never
    receive texts closes the contact, carrier filtering (30007) is only counted. One statement, except
    for the opt-out."""
    info = describe(code)
    if info is None:
        return
    values: dict[str, object] = {"error_code": code, "updated_at": timezone.now()}
    if info.action is ErrorAction.CLOSE_CONTACT:
        values["status"] = ContactStatus.CLOSED
    if info.action is ErrorAction.OPT_OUT and organization_id is not None:
        cell = Contact.objects.filter(pk=contact_id).values_list("cell", flat=True).first()
        Contact.objects.filter(pk=contact_id).update(**values)
        if cell:
            optout_create(organization=organization_id, cell=cell, source=OptOutSource.PROVIDER)
    else:
        Contact.objects.filter(pk=contact_id).update(**values)
    if texter_id is not None:
        # The texter's page shows "Not delivered" on the thread without a reload.
        publish_on_commit(texter_group(texter_id), "contact_changed", contact_id=contact_id)
