from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import Client

from accounts.models import Membership, Role, User
from campaigns.models import Assignment, Campaign, Contact, OptOutSource
from campaigns.services import (
    assignment_release,
    campaign_start,
    contacts_reassign,
    contacts_request_more,
    optout_create,
)
from spoke.asgi import application
from spoke.testing import AssignmentFactory, ContactFactory, UserFactory
from texting.consumers import TexterConsumer
from texting.models import Direction, Message, MessageStatus
from texting.providers.base import InboundSMS
from texting.services import message_receive

# 12:00 in New York: inside texting hours whenever the suite runs.
NY_NOON = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _connect_as(user: User | AnonymousUser) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(TexterConsumer.as_asgi(), "/ws/texter/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_anonymous_socket_is_refused() -> None:
    communicator, connected = await _connect_as(AnonymousUser())
    assert not connected
    await communicator.disconnect()


async def test_texter_receives_events_published_to_their_group_only(texter: User, other_texter: User) -> None:
    mine, connected = await _connect_as(texter)
    theirs, other_connected = await _connect_as(other_texter)
    assert connected and other_connected
    layer = get_channel_layer()
    await layer.group_send(
        f"texter.{texter.pk}",
        {"type": "live.event", "event": "reply_received", "payload": {"contact_id": 7, "campaign_id": 3}},
    )
    assert await mine.receive_json_from(timeout=2) == {"event": "reply_received", "contact_id": 7, "campaign_id": 3}
    assert await theirs.receive_nothing(timeout=0.2)
    await mine.disconnect()
    await theirs.disconnect()


async def test_ping_is_answered(texter: User) -> None:
    communicator, _ = await _connect_as(texter)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=2) == {"event": "pong"}
    await communicator.disconnect()


async def test_socket_through_the_asgi_app_is_authenticated_by_the_session_cookie(texter: User) -> None:
    client = Client()
    await sync_to_async(client.force_login)(texter)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(
        application, "/ws/texter/", headers=[(b"cookie", cookie.encode()), (b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    await get_channel_layer().group_send(
        f"texter.{texter.pk}", {"type": "live.event", "event": "assignments_changed", "payload": {"campaign_id": 1}}
    )
    assert await communicator.receive_json_from(timeout=2) == {"event": "assignments_changed", "campaign_id": 1}
    await communicator.disconnect()


async def test_socket_without_a_session_through_the_asgi_app_is_refused(db: None) -> None:
    communicator = WebsocketCommunicator(application, "/ws/texter/", headers=[(b"origin", b"http://localhost")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_socket_from_a_foreign_origin_is_refused(texter: User) -> None:
    communicator = WebsocketCommunicator(application, "/ws/texter/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


# --- Organization scoping and every event the texter app listens to -------------------------------


async def test_a_user_suspended_everywhere_is_refused(texter: User) -> None:
    await sync_to_async(Membership.objects.filter(user=texter).update)(role=Role.SUSPENDED)
    _communicator, connected = await _connect_as(texter)
    assert not connected


async def test_a_user_without_any_organization_is_refused(db: None) -> None:
    loner = await sync_to_async(UserFactory.create)(email="loner@example.com")
    _communicator, connected = await _connect_as(loner)
    assert not connected


def _reply_from(contact: Contact) -> None:
    Message.objects.create(
        organization=contact.campaign.organization,
        campaign=contact.campaign,
        contact=contact,
        direction=Direction.OUTBOUND,
        body="Hi",
        status=MessageStatus.DELIVERED,
        to_number=contact.cell,
    )
    message_receive(
        inbound=InboundSMS(sid="SMconsumer1", from_number=contact.cell, to_number="+15005550006", body="Yes")
    )


async def test_a_reply_reaches_its_texter_and_nobody_else(texter: User, other_texter: User, contact: Contact) -> None:
    mine, _ = await _connect_as(texter)
    theirs, _ = await _connect_as(other_texter)
    await sync_to_async(_reply_from)(contact)
    event = await mine.receive_json_from(timeout=2)
    assert event["event"] == "reply_received"
    assert (event["contact_id"], event["campaign_id"]) == (contact.pk, contact.campaign_id)
    assert await theirs.receive_nothing(timeout=0.2)
    await mine.disconnect()
    await theirs.disconnect()


async def test_an_opt_out_tells_the_texter_the_conversation_changed(texter: User, contact: Contact) -> None:
    communicator, _ = await _connect_as(texter)
    await sync_to_async(optout_create)(
        organization=contact.campaign.organization_id, cell=contact.cell, source=OptOutSource.ORGANIZER
    )
    assert await communicator.receive_json_from(timeout=2) == {"event": "contact_changed", "contact_id": contact.pk}
    await communicator.disconnect()


def _dynamic_assignment(texter: User, campaign: Campaign) -> Assignment:
    Campaign.objects.filter(pk=campaign.pk).update(use_dynamic_assignment=True, batch_size=2)
    campaign.refresh_from_db()
    ContactFactory.create_batch(3, campaign=campaign)
    return AssignmentFactory.create(campaign=campaign, texter=texter)


async def test_request_more_and_done_for_today_update_the_texters_counts(texter: User, campaign: Campaign) -> None:
    assignment = await sync_to_async(_dynamic_assignment)(texter, campaign)
    communicator, _ = await _connect_as(texter)
    await sync_to_async(contacts_request_more)(assignment=assignment, now=NY_NOON)
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "assignment_grew",
        "campaign_id": campaign.pk,
        "added": 2,
    }
    await sync_to_async(assignment_release)(assignment=assignment)
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "counts_changed",
        "campaign_id": campaign.pk,
        "released": 2,
    }
    await communicator.disconnect()


async def test_contacts_reassigned_away_name_the_contacts(texter: User, other_texter: User, contact: Contact) -> None:
    communicator, _ = await _connect_as(texter)

    def reassign() -> None:
        with transaction.atomic():
            contacts_reassign(contact_ids=[contact.pk], texter_ids=[other_texter.pk])

    await sync_to_async(reassign)()
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "contacts_reassigned",
        "campaign_id": contact.campaign_id,
        "contact_ids": [contact.pk],
    }
    await communicator.disconnect()


async def test_starting_a_campaign_tells_its_texters(texter: User, assignment: Assignment) -> None:
    await sync_to_async(Campaign.objects.filter(pk=assignment.campaign_id).update)(is_started=False)
    campaign = await sync_to_async(Campaign.objects.get)(pk=assignment.campaign_id)
    await sync_to_async(ContactFactory.create)(campaign=campaign, assignment=assignment)
    communicator, _ = await _connect_as(texter)
    await sync_to_async(campaign_start)(campaign=campaign)
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "assignments_changed",
        "campaign_id": campaign.pk,
    }
    await communicator.disconnect()
