"""Suspending a member takes effect at once: unsent contacts back to the pool in every campaign of
the organization, conversations left for organizers to reassign, open texter pages closed, and
the texter app refusing them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, Role, User
from accounts.services import membership_remove, membership_set
from campaigns.models import Assignment, Campaign, Contact, ContactStatus
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MembershipFactory
from texting.consumers import NO_ORGANIZATION, TexterConsumer
from texting.models import Message

MEMBERSHIPS = "admin:accounts_membership_changelist"
REVIEW = "admin:campaigns_contact_changelist"


def _suspend_in_admin(client: Client, acting: User, membership: Membership) -> None:
    client.force_login(acting)
    response = client.post(reverse(MEMBERSHIPS), {"action": "suspend_selected", "_selected_action": [membership.pk]})
    assert response.status_code == 302


@pytest.fixture
def work(organization: Organization, campaign: Campaign, assignment: Assignment, texter: User) -> dict[str, Any]:
    """The texter's work in two campaigns of the organization and one of another organization."""
    second = CampaignFactory.create(organization=organization, title="Second")
    second_assignment = AssignmentFactory.create(campaign=second, texter=texter)
    elsewhere = CampaignFactory.create(title="Elsewhere")
    MembershipFactory.create(user=texter, organization=elsewhere.organization, role=Role.TEXTER)
    elsewhere_assignment = AssignmentFactory.create(campaign=elsewhere, texter=texter)
    return {
        "unsent": [
            ContactFactory.create(campaign=campaign, assignment=assignment),
            ContactFactory.create(campaign=second, assignment=second_assignment),
        ],
        "waiting": ContactFactory.create(campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE),
        "messaged": ContactFactory.create(campaign=second, assignment=second_assignment, status=ContactStatus.MESSAGED),
        "elsewhere": ContactFactory.create(campaign=elsewhere, assignment=elsewhere_assignment),
    }


@pytest.mark.django_db
def test_suspending_returns_unsent_contacts_of_every_campaign_and_keeps_conversations(
    client: Client, admin_user: User, texter: User, organization: Organization, work: dict[str, Any]
) -> None:
    _suspend_in_admin(client, admin_user, Membership.objects.get(user=texter, organization=organization))

    for contact in work["unsent"]:
        contact.refresh_from_db()
        assert contact.assignment_id is None  # back in the pool for other texters
    for name in ("waiting", "messaged", "elsewhere"):
        kept = work[name]
        kept.refresh_from_db()
        assert kept.assignment is not None and kept.assignment.texter_id == texter.pk, name

    # The conversation waiting for a reply is in review under the suspended texter's name.
    response = client.get(
        reverse(REVIEW), {"assignment__texter__id__exact": texter.pk, "status__exact": "needs_response"}
    )
    assert response.status_code == 200
    assert [c.pk for c in response.context["cl"].result_list] == [work["waiting"].pk]


@pytest.mark.django_db
def test_the_texter_app_refuses_a_member_suspended_in_the_back_office(
    client: Client, admin_user: User, texter: User, organization: Organization, work: dict[str, Any]
) -> None:
    _suspend_in_admin(client, admin_user, Membership.objects.get(user=texter, organization=organization))
    client.force_login(texter)
    todos = client.get(reverse("texter:todos"))
    assert todos.status_code == 200
    headings = re.findall(rb"<h2[^>]*>([^<]*)</h2>", todos.content)
    assert headings == [b"Elsewhere"]  # only the campaign of the organization they still text for
    waiting = work["waiting"]
    response = client.post(
        reverse("texter:contact_send", args=[waiting.pk]),
        data=json.dumps({"body": "Still there?"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Message.objects.filter(contact=waiting).exists()


async def _texter_socket(user: User) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(TexterConsumer.as_asgi(), "/ws/texter/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _next_close(communicator: WebsocketCommunicator) -> dict[str, Any]:
    """Skip the live events the suspension also sends (assignments changed) up to the close."""
    while True:
        output = await communicator.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            return output


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_suspending_closes_the_texters_open_socket(texter: User, organization: Organization) -> None:
    communicator = await _texter_socket(texter)
    await sync_to_async(membership_set)(organization=organization, user=texter, role=Role.SUSPENDED)
    assert await _next_close(communicator) == {"type": "websocket.close", "code": NO_ORGANIZATION}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_texter_still_active_elsewhere_keeps_their_socket(
    texter: User, organization: Organization, other_organization: Organization
) -> None:
    await sync_to_async(MembershipFactory.create)(user=texter, organization=other_organization, role=Role.TEXTER)
    communicator = await _texter_socket(texter)
    await sync_to_async(membership_set)(organization=organization, user=texter, role=Role.SUSPENDED)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=2) == {"event": "pong"}
    await communicator.disconnect()


@pytest.mark.django_db
def test_restoring_does_not_give_the_contacts_back(
    client: Client, admin_user: User, texter: User, organization: Organization, work: dict[str, Any]
) -> None:
    membership = Membership.objects.get(user=texter, organization=organization)
    _suspend_in_admin(client, admin_user, membership)
    client.post(reverse(MEMBERSHIPS), {"action": "restore_selected", "_selected_action": [membership.pk]})
    membership.refresh_from_db()
    assert membership.role == Role.TEXTER
    assert Contact.objects.filter(pk__in=[c.pk for c in work["unsent"]], assignment__isnull=True).count() == 2


@pytest.mark.django_db
def test_removing_a_member_returns_their_unsent_contacts_too(
    admin_user: User, texter: User, organization: Organization, work: dict[str, Any]
) -> None:
    membership_remove(membership=Membership.objects.get(user=texter, organization=organization), acting_user=admin_user)
    for contact in work["unsent"]:
        contact.refresh_from_db()
        assert contact.assignment_id is None
    for name in ("waiting", "elsewhere"):
        kept = work[name]
        kept.refresh_from_db()
        assert kept.assignment is not None and kept.assignment.texter_id == texter.pk, name


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_suspending_an_organizer_closes_their_open_campaign_pages(
    admin_user: User, owner: User, organization: Organization
) -> None:
    from campaigns.consumers import CampaignConsumer

    campaign = await sync_to_async(CampaignFactory.create)(organization=organization)
    communicator = WebsocketCommunicator(CampaignConsumer.as_asgi(), f"/ws/campaign/{campaign.pk}/")
    communicator.scope["user"] = admin_user
    communicator.scope["url_route"] = {"kwargs": {"campaign_id": campaign.pk}}
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(membership_set)(organization=organization, user=admin_user, role=Role.SUSPENDED)
    assert await _next_close(communicator) == {"type": "websocket.close", "code": 4403}
