"""Live updates across processes: with the channels-redis layer, a reply handled by one process
(here the test's own, standing in for the web process that took the webhook) reaches a texter
whose websocket is held by another (a separate live server)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Organization, Role
from campaigns.models import Campaign, Contact, ContactStatus
from campaigns.services import campaign_start, contacts_assign, script_set_first_message
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import in_another_thread, log_in, wait_until_interactive
from texting.models import Direction, Message, MessageStatus
from texting.providers.base import InboundSMS
from texting.services import message_receive

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def texted_contact(transactional_db: None) -> Contact:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    texter = UserFactory(email="ada@example.com", first_name="Ada")
    MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)
    campaign = Campaign.objects.create(organization=organization, title="Get out the vote")
    script_set_first_message(campaign=campaign, script="Hi {firstName}!")
    contact = Contact.objects.create(campaign=campaign, first_name="Maria", last_name="Lopez", cell="+13125550400")
    contacts_assign(campaign=campaign, texter=texter, count=1)
    campaign_start(campaign=campaign)
    Message.objects.create(
        organization=organization,
        campaign=campaign,
        contact=contact,
        direction=Direction.OUTBOUND,
        body="Hi Maria!",
        status=MessageStatus.DELIVERED,
        to_number=contact.cell,
    )
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    return contact


def test_a_reply_handled_in_one_process_reaches_a_texter_connected_to_another(
    texted_contact: Contact, redis_live_url: str, redis_channel_layer: None, page: Page
) -> None:
    log_in(page, redis_live_url, "ada@example.com", PASSWORD)
    wait_until_interactive(page)
    expect(page.locator("html[data-live='open']")).to_have_count(1)
    expect(page.get_by_role("link", name=re.compile("Respond"))).to_have_count(0)

    in_another_thread(
        lambda: message_receive(
            inbound=InboundSMS(sid="SMredis1", from_number=texted_contact.cell, to_number="+15005550006", body="Yes!")
        )
    )

    expect(page.get_by_role("link", name=re.compile("Respond"))).to_contain_text("1")
