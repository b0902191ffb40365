"""Who did what, and when: admin actions in Django's admin log (custom pages and bulk actions
included), every opt-out and opt-in in the opt-out audit trail, from every source."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, OptOutEvent, OptOutSource
from campaigns.services import optout_create
from spoke.testing import CampaignFactory, ContactFactory, InteractionStepFactory, MessageFactory, admin_form_data
from texting.models import MessageStatus
from texting.providers.base import InboundSMS
from texting.services import message_receive

pytestmark = pytest.mark.django_db


def _last_entry(user: User) -> LogEntry:
    entry = LogEntry.objects.filter(user=user).order_by("-pk").first()
    assert entry is not None, "nothing was recorded in the admin log"
    return entry


@pytest.fixture
def organizer(client: Client, owner: User) -> Client:
    client.force_login(owner)
    return client


def test_starting_and_archiving_a_campaign_are_recorded(
    organizer: Client, owner: User, organization: Organization
) -> None:
    campaign = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    InteractionStepFactory.create(campaign=campaign)
    assignment = Assignment.objects.create(campaign=campaign, texter=owner)
    ContactFactory.create(campaign=campaign, assignment=assignment)
    organizer.post(reverse("admin:campaigns_campaign_start", args=[campaign.pk]))
    entry = _last_entry(owner)
    assert (entry.object_id, entry.get_change_message()) == (str(campaign.pk), "Started")
    organizer.post(reverse("admin:campaigns_campaign_archive", args=[campaign.pk]))
    assert _last_entry(owner).get_change_message() == "Archived"
    assert _last_entry(owner).action_time is not None


def test_exporting_a_campaign_is_recorded(organizer: Client, owner: User, campaign: Campaign) -> None:
    organizer.post(reverse("admin:campaigns_campaign_export", args=[campaign.pk]))
    entry = _last_entry(owner)
    assert (entry.object_id, entry.get_change_message()) == (str(campaign.pk), "Exported")


def test_suspending_a_member_is_recorded(organizer: Client, owner: User, texter: User) -> None:
    membership = Membership.objects.get(user=texter)
    organizer.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "suspend_selected", ACTION_CHECKBOX_NAME: [membership.pk]},
    )
    assert Membership.objects.get(pk=membership.pk).role == Role.SUSPENDED
    entries = LogEntry.objects.filter(user=owner).order_by("pk")
    assert any(e.object_id == str(membership.pk) and "Suspended" in e.get_change_message() for e in entries)
    assert "suspend_selected" in entries.last().change_message  # type: ignore[union-attr]


def test_changing_the_send_rate_is_recorded_with_the_field(
    organizer: Client, owner: User, organization: Organization
) -> None:
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    data = admin_form_data(organizer.get(url))
    data["send_rate_per_second"] = "7"
    response = organizer.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = _last_entry(owner)
    assert entry.object_id == str(organization.pk)
    assert "send rate" in entry.get_change_message().lower()


@pytest.mark.parametrize("action", ["unassign_selected", "reassign_selected"])
def test_bulk_review_actions_are_recorded_with_what_they_touched(
    organizer: Client, owner: User, contact: Contact, other_texter: User, action: str
) -> None:
    data = {"action": action, ACTION_CHECKBOX_NAME: [contact.pk]}
    if action == "reassign_selected":
        # The first POST asks which texters (nothing changes, nothing recorded yet); "apply" acts.
        organizer.post(reverse("admin:campaigns_contact_changelist"), data)
        assert not LogEntry.objects.filter(user=owner).exists()
        data |= {"apply": "1", "texters": [other_texter.pk]}
    response = organizer.post(reverse("admin:campaigns_contact_changelist") + "?status__exact=needs_message", data)
    assert response.status_code == 302
    entry = _last_entry(owner)
    assert entry.get_change_message().startswith(f"Ran the action “{action}” on 1 contact")
    assert "status__exact=needs_message" in entry.get_change_message()


# --- opt-outs: every source leaves an event with who (when a person did it) and when


def test_every_opt_out_source_leaves_an_audit_event(
    client: Client, owner: User, texter: User, contact: Contact, organization: Organization
) -> None:
    # The texter's dialog.
    client.force_login(texter)
    client.post(reverse("texter:contact_optout", args=[contact.pk]), json.dumps({}), content_type="application/json")
    # An inbound keyword, answered to the contact texted from the organization.
    other = ContactFactory.create(campaign=contact.campaign, assignment=contact.assignment, cell="+12025550144")
    MessageFactory.create(contact=other, to_number=other.cell, status=MessageStatus.DELIVERED)
    message_receive(inbound=InboundSMS(sid="SM" + "4" * 32, from_number=other.cell, to_number="+1500", body="STOP"))
    # An organizer in the API, and an import.
    client.force_login(owner)
    api = client.post("/api/v1/optouts/", {"organization": organization.pk, "cell": "+12025550155", "reason": "asked"})
    assert api.status_code == 201, api.content
    optout_create(organization=organization, cell="+12025550166", source=OptOutSource.IMPORT, acting_user=owner)
    optout_create(organization=organization, cell="+12025550177", source=OptOutSource.PROVIDER)

    events = {e.source: e for e in OptOutEvent.objects.filter(action=OptOutEvent.Action.OPT_OUT)}
    assert set(events) == {s.value for s in OptOutSource}
    assert events[OptOutSource.TEXTER].created_by == texter
    assert events[OptOutSource.ORGANIZER].created_by == owner
    assert events[OptOutSource.IMPORT].created_by == owner
    assert events[OptOutSource.KEYWORD].created_by is None and events[OptOutSource.PROVIDER].created_by is None
    assert all(event.created_at is not None for event in events.values())


def test_opting_back_in_leaves_an_event_with_the_reason(
    client: Client, owner: User, organization: Organization
) -> None:
    optout = optout_create(organization=organization, cell="+12025550188", source=OptOutSource.ORGANIZER)
    client.force_login(owner)
    response = client.post(f"/api/v1/optouts/{optout.pk}/remove/", {"reason": "texted START"})
    assert response.status_code in (200, 204), response.content
    event = OptOutEvent.objects.get(action=OptOutEvent.Action.OPT_IN)
    assert (event.cell, event.reason, event.created_by) == ("+12025550188", "texted START", owner)
