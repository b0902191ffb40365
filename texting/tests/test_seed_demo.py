from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import Membership, Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, InteractionStep
from campaigns.services import first_message_warnings
from texting.models import Direction, Message

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_a_ready_started_campaign_for_two_texters() -> None:
    output = _seed()
    assert "organizer@example.com" in output and "spoke-demo" in output
    organization = Organization.objects.get(name="Spoke Demo")
    roles = dict(Membership.objects.filter(organization=organization).values_list("user__email", "role"))
    assert roles == {
        "organizer@example.com": Role.OWNER,
        "texter1@example.com": Role.TEXTER,
        "texter2@example.com": Role.TEXTER,
    }
    campaign = Campaign.objects.get(organization=organization)
    assert campaign.is_started and not campaign.is_archived
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    assert "{firstName}" in root.script and root.question
    # Two levels: answers to the first question, and answers under "Yes".
    assert root.children.count() == 3
    assert root.children.get(answer_option="Yes").children.count() == 2
    assert campaign.canned_responses.count() == 3
    counts = {a.texter.email: a.contacts.count() for a in Assignment.objects.filter(campaign=campaign)}
    assert counts == {"texter1@example.com": 20, "texter2@example.com": 20}
    assert not Contact.objects.filter(campaign=campaign, assignment__isnull=True).exists()
    assert Contact.objects.filter(campaign=campaign, status=ContactStatus.NEEDS_RESPONSE).count() == 6
    assert not Contact.objects.filter(campaign=campaign, timezone="").exists()


def test_seed_demo_is_idempotent() -> None:
    _seed()
    before = (User.objects.count(), Campaign.objects.count(), Contact.objects.count(), Message.objects.count())
    _seed()
    after = (User.objects.count(), Campaign.objects.count(), Contact.objects.count(), Message.objects.count())
    assert before == after


@pytest.mark.parametrize(("email", "page"), [("organizer@example.com", "/admin/"), ("texter1@example.com", "/texter/")])
def test_demo_logins_work_with_the_documented_password(client: Client, email: str, page: str) -> None:
    _seed()
    response = client.post("/accounts/login/", {"username": email, "password": "spoke-demo"})
    assert response.status_code == 302
    assert client.get(page).status_code == 200


def test_demo_replies_came_through_the_inbound_path() -> None:
    _seed()
    replies = Message.objects.filter(direction=Direction.INBOUND)
    assert replies.count() == 6
    assert not replies.filter(contact__isnull=True).exists()


def test_demo_first_message_passes_the_editors_own_checks() -> None:
    call_command("seed_demo")
    campaign = Campaign.objects.get(title__startswith="Get out the vote")
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    assert first_message_warnings(script=root.script, organization_name=campaign.organization.name) == []
