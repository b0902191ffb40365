"""A texter's whole loop in a real browser: keyboard-only first messages, a live reply, a survey answer."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect
from twilio.request_validator import RequestValidator

from accounts.models import Organization, Role, User
from campaigns.models import Campaign, Contact, ContactStatus, QuestionResponse
from campaigns.services import campaign_start, contacts_assign, script_add_answer, script_set_first_message
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import WEBHOOK_TOKEN, log_in, wait_until_interactive
from texting.models import Direction, Message, MessageStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def texter_with_contacts(transactional_db: None) -> User:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    texter = UserFactory(email="ada@example.com", first_name="Ada")
    MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)
    campaign = Campaign.objects.create(organization=organization, title="Get out the vote", primary_color="#2563eb")
    root = script_set_first_message(
        campaign=campaign,
        script="Hi {firstName}, this is {texterFirstName}. Can we count on your vote? autorespond",
        question="Can we count on your vote?",
    )
    script_add_answer(parent=root, answer_option="Yes", script="Wonderful, thank you {firstName}!")
    script_add_answer(parent=root, answer_option="No", script="Thanks anyway.")
    for i, (first, zip_code) in enumerate([("Maria", "60614"), ("James", "10001"), ("Aisha", "96813")]):
        Contact.objects.create(
            campaign=campaign, first_name=first, last_name="Lopez", cell=f"+1312555010{i}", zip=zip_code
        )
    contacts_assign(campaign=campaign, texter=texter, count=3)
    campaign_start(campaign=campaign)
    return texter


def test_texter_sends_first_messages_with_the_keyboard_and_answers_a_reply(
    texter_with_contacts: User, live_url: str, page: Page
) -> None:
    log_in(page, live_url, "ada@example.com", PASSWORD)
    send_button = page.get_by_role("link", name=re.compile("Send first messages"))
    expect(send_button).to_contain_text("3")
    send_button.click()
    wait_until_interactive(page)

    for name in ["Maria", "James", "Aisha"]:
        expect(page.locator("[data-compose]")).to_have_value(
            f"Hi {name}, this is Ada. Can we count on your vote? autorespond"
        )
        # James is skipped with Ctrl+Y; the others are sent with Enter.
        page.keyboard.press("Control+y" if name == "James" else "Enter")
    expect(page.get_by_role("heading", name=re.compile("All sent"))).to_be_visible()

    outbound = Message.objects.filter(direction=Direction.OUTBOUND)
    assert sorted(outbound.values_list("contact__first_name", flat=True)) == ["Aisha", "Maria"]
    assert set(outbound.values_list("status", flat=True)) == {MessageStatus.DELIVERED}
    assert Contact.objects.get(first_name="James").status == ContactStatus.CLOSED
    # The fake provider answered each "autorespond" through the inbound path.
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 2
    assert Contact.objects.filter(status=ContactStatus.NEEDS_RESPONSE).count() == 2

    page.get_by_role("link", name=re.compile("Todos")).click()
    page.get_by_role("link", name=re.compile("Respond")).click()
    wait_until_interactive(page)
    expect(page.locator(".thread-pane").first).to_contain_text("automatic reply")
    page.keyboard.press("1")
    expect(page.locator("[data-compose]")).to_have_value(re.compile(r"^Wonderful, thank you \w+!$"))
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-compose]")).to_have_value("")
    assert QuestionResponse.objects.filter(value="Yes").count() == 1
    replied = Message.objects.filter(direction=Direction.OUTBOUND, body__startswith="Wonderful")
    assert replied.count() == 1


def test_a_reply_arrives_live_on_the_todo_list_without_a_reload(
    texter_with_contacts: User, live_url: str, page: Page
) -> None:
    contact = Contact.objects.order_by("id").first()
    assert contact is not None
    Message.objects.create(
        organization=contact.campaign.organization,
        campaign=contact.campaign,
        contact=contact,
        direction=Direction.OUTBOUND,
        body="Hi",
        status=MessageStatus.DELIVERED,
        to_number=contact.cell,
    )
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    log_in(page, live_url, "ada@example.com", PASSWORD)
    respond = page.get_by_role("link", name=re.compile("Respond"))
    wait_until_interactive(page)
    expect(page.locator("html[data-live='open']")).to_have_count(1)
    page.evaluate("window.spokeTestMarker = 'still the same page'")

    # The reply reaches the live server as Twilio would send it: a signed webhook.
    params = {"MessageSid": "SMlive0001", "From": contact.cell, "To": "+15005550006", "Body": "Yes!"}
    url = f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/inbound"
    signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(  # noqa: S310 (loopback live server)
        f"{live_url}/webhooks/twilio/inbound",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200

    expect(respond).to_contain_text("1")
    assert page.evaluate("window.spokeTestMarker") == "still the same page"
