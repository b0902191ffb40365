from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from accounts.models import User
from campaigns.models import Contact, ContactStatus, OptOut, OptOutEvent
from spoke.testing import CampaignFactory, ContactFactory, MessageFactory
from texting.models import Direction, Message, MessageStatus
from texting.providers.base import InboundSMS
from texting.services import message_receive

pytestmark = pytest.mark.django_db


def _reply(contact: Contact, body: str = "Yes!", sid: str = "SMin0001", **kwargs: object) -> InboundSMS:
    return InboundSMS(sid=sid, from_number=contact.cell, to_number="+15005550006", body=body, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def messaged(contact: Contact) -> Contact:
    MessageFactory(contact=contact, texter=contact.assignment.texter, status=MessageStatus.DELIVERED)
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    contact.refresh_from_db()
    return contact


def test_reply_is_stored_and_puts_the_conversation_in_the_texters_queue(messaged: Contact) -> None:
    message = message_receive(inbound=_reply(messaged, media_urls=["https://example.org/a.jpg"], num_segments=2))
    assert message is not None
    stored = Message.objects.get(pk=message.pk)
    assert (stored.direction, stored.status, stored.body) == (Direction.INBOUND, MessageStatus.RECEIVED, "Yes!")
    assert stored.contact_id == messaged.pk
    assert stored.texter_id == messaged.assignment.texter_id
    assert stored.media_urls == ["https://example.org/a.jpg"]
    assert stored.segments == 2
    messaged.refresh_from_db()
    assert messaged.status == ContactStatus.NEEDS_RESPONSE


def test_reply_costs_three_statements(messaged: Contact, assert_statements, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False), assert_statements(3):
        message_receive(inbound=_reply(messaged))


def test_same_provider_sid_twice_is_stored_once(messaged: Contact) -> None:
    assert message_receive(inbound=_reply(messaged)) is not None
    assert message_receive(inbound=_reply(messaged)) is None
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def test_reply_is_matched_to_the_contact_last_texted_at_that_cell(messaged: Contact, texter: User) -> None:
    later_campaign = CampaignFactory(organization=messaged.campaign.organization)
    later_contact = ContactFactory(campaign=later_campaign, cell=messaged.cell)
    MessageFactory(contact=later_contact, texter=texter)
    message = message_receive(inbound=_reply(messaged))
    assert message is not None and message.contact_id == later_contact.pk


def test_reply_matching_no_contact_is_kept_unmatched(db: None) -> None:
    message = message_receive(
        inbound=InboundSMS(sid="SMlost", from_number="+13125550100", to_number="+15005550006", body="who?")
    )
    assert message is not None
    stored = Message.objects.get(pk=message.pk)
    assert stored.contact_id is None and stored.organization_id is None and stored.body == "who?"


@pytest.mark.parametrize("keyword", ["STOP", "stop", " Unsubscribe ", "QUIT", "optout", "REVOKE", "STOPALL"])
def test_opt_out_keyword_opts_out_and_sends_nothing_back(messaged: Contact, keyword: str) -> None:
    message_receive(inbound=_reply(messaged, body=keyword))
    messaged.refresh_from_db()
    assert messaged.is_opted_out and messaged.status == ContactStatus.CLOSED
    assert OptOut.objects.filter(organization=messaged.campaign.organization, cell=messaged.cell).exists()
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exclude(status=MessageStatus.DELIVERED).exists()


def test_stop_inside_a_sentence_is_not_an_opt_out(messaged: Contact) -> None:
    message_receive(inbound=_reply(messaged, body="Don't stop texting me"))
    messaged.refresh_from_db()
    assert not messaged.is_opted_out and messaged.status == ContactStatus.NEEDS_RESPONSE


def test_start_opts_back_in_with_an_audit_trail(messaged: Contact) -> None:
    message_receive(inbound=_reply(messaged, body="STOP", sid="SM1"))
    message_receive(inbound=_reply(messaged, body="START", sid="SM2"))
    messaged.refresh_from_db()
    assert not messaged.is_opted_out
    assert not OptOut.objects.filter(cell=messaged.cell).exists()
    actions = list(OptOutEvent.objects.filter(cell=messaged.cell).order_by("id").values_list("action", "reason"))
    assert actions == [("opt_out", ""), ("opt_in", "texted START")]


def test_reply_from_opted_out_contact_is_stored_but_stays_closed(messaged: Contact) -> None:
    Contact.objects.filter(pk=messaged.pk).update(is_opted_out=True, status=ContactStatus.CLOSED)
    message_receive(inbound=_reply(messaged, body="hello again"))
    messaged.refresh_from_db()
    assert messaged.status == ContactStatus.CLOSED
    assert Message.objects.filter(contact=messaged, direction=Direction.INBOUND).count() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_reply_is_pushed_to_the_assigned_texter_after_commit(messaged: Contact) -> None:
    # On one event loop, as in a server: the channel layer's channels belong to the loop that made them.
    group = await database_sync_to_async(lambda: f"texter.{messaged.assignment.texter_id}")()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    message = await database_sync_to_async(message_receive)(inbound=_reply(messaged))
    event = await asyncio.wait_for(layer.receive(channel), timeout=5)
    assert event["event"] == "reply_received"
    assert event["payload"] == {
        "contact_id": messaged.pk,
        "campaign_id": messaged.campaign_id,
        "message_id": message.pk if message else None,
    }
    await layer.group_discard(group, channel)
    await database_sync_to_async(connections.close_all)()  # the database thread lets go of the test database


@pytest.mark.parametrize("body", ["Stop.", "STOP!", "  stop  ", "Stop texting me", "REMOVE ME", "remove  me"])
def test_carrier_keywords_with_punctuation_and_configured_phrases_opt_out(messaged: Contact, body: str) -> None:
    message_receive(inbound=_reply(messaged, body=body))
    messaged.refresh_from_db()
    assert messaged.is_opted_out and messaged.status == ContactStatus.CLOSED


def test_the_opt_out_phrases_are_a_setting(messaged: Contact, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OPT_OUT_PHRASES = ["leave me alone"]
    message_receive(inbound=_reply(messaged, body="Leave me alone!", sid="SM1"))
    messaged.refresh_from_db()
    assert messaged.is_opted_out


def test_a_phrase_inside_a_longer_reply_is_not_an_opt_out(messaged: Contact) -> None:
    message_receive(inbound=_reply(messaged, body="Please don't remove me, I want updates"))
    messaged.refresh_from_db()
    assert not messaged.is_opted_out and messaged.status == ContactStatus.NEEDS_RESPONSE


def test_unstop_opts_back_in(messaged: Contact) -> None:
    message_receive(inbound=_reply(messaged, body="STOPALL", sid="SM1"))
    message_receive(inbound=_reply(messaged, body="unstop", sid="SM2"))
    messaged.refresh_from_db()
    assert not messaged.is_opted_out and not OptOut.objects.filter(cell=messaged.cell).exists()


def test_an_opt_out_reply_queues_no_confirmation_text(messaged: Contact, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message_receive(inbound=_reply(messaged, body="STOP"))
    assert not Message.objects.filter(direction=Direction.OUTBOUND, status=MessageStatus.QUEUED).exists()
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1  # only the first text


def test_a_reply_is_matched_by_messaging_service(messaged: Contact, texter: User) -> None:
    other_campaign = CampaignFactory(organization=messaged.campaign.organization)
    other_contact = ContactFactory(campaign=other_campaign, cell=messaged.cell)
    Message.objects.filter(contact=messaged).update(messaging_service_sid="MGfirst")
    MessageFactory(contact=other_contact, texter=texter, messaging_service_sid="MGsecond")
    reply = message_receive(inbound=_reply(messaged, messaging_service_sid="MGfirst"))
    assert reply is not None and reply.contact_id == messaged.pk


def test_without_a_messaging_service_a_reply_is_matched_by_the_number_texted_from(
    messaged: Contact, texter: User
) -> None:
    other_campaign = CampaignFactory(organization=messaged.campaign.organization)
    other_contact = ContactFactory(campaign=other_campaign, cell=messaged.cell)
    Message.objects.filter(contact=messaged).update(from_number="+15005550006")
    MessageFactory(contact=other_contact, texter=texter, from_number="+15005550007")
    reply = message_receive(inbound=_reply(messaged))  # to +15005550006
    assert reply is not None and reply.contact_id == messaged.pk


def test_a_reply_to_a_service_nobody_texted_from_is_unmatched(messaged: Contact) -> None:
    reply = message_receive(inbound=_reply(messaged, messaging_service_sid="MGnobody"))
    assert reply is not None and reply.contact_id is None
