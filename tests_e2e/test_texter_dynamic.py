"""Dynamic assignment in a real browser: join by link, request more, send the batch by keyboard,
ask for more from "All sent", and see a contact reassigned away while on it."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from accounts.models import Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus
from campaigns.services import assignment_unassign, campaign_start, script_set_first_message
from core.live import publish_contacts_reassigned
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import in_another_thread, log_in, screenshot, wait_until_interactive
from texting.models import Direction, Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAMES = ["Maria", "James", "Aisha", "Wei", "Sofia"]


@pytest.fixture
def dynamic_campaign(transactional_db: None) -> Campaign:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    texter = UserFactory(email="ada@example.com", first_name="Ada")
    MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)
    campaign = Campaign.objects.create(
        organization=organization,
        title="Rapid response",
        description="Tell supporters about Saturday's rally.",
        primary_color="#c2410c",
        use_dynamic_assignment=True,
        batch_size=2,
        max_contacts_per_texter=4,
    )
    script_set_first_message(campaign=campaign, script="Hi {firstName}, rally on Saturday at noon!")
    for i, first in enumerate(NAMES):
        Contact.objects.create(campaign=campaign, first_name=first, last_name="Doe", cell=f"+1312555030{i}")
    campaign_start(campaign=campaign)
    return campaign


def test_join_request_more_and_send_batches_with_the_keyboard(
    dynamic_campaign: Campaign, live_url: str, page: Page
) -> None:
    log_in(page, live_url, "ada@example.com", PASSWORD)
    page.goto(f"{live_url}/texter/join/{dynamic_campaign.join_token}/")
    expect(page.get_by_role("heading", name="Rapid response")).to_be_visible()
    screenshot(page, "join")
    page.get_by_role("button", name="Join Rapid response").click()
    expect(page.locator("[data-status]")).to_contain_text("You joined Rapid response")
    card = page.locator(".card")
    expect(card).to_contain_text("Ask for a batch of contacts")
    card.get_by_role("button", name=re.compile("Request more")).click()

    # The form lands on the send screen with the first batch.
    wait_until_interactive(page)
    expect(page.locator("[data-status]")).to_contain_text("You have 2 more contacts to text")
    compose = page.locator("[data-compose]")
    expect(compose).to_have_value("Hi Maria, rally on Saturday at noon!")
    page.keyboard.press("Enter")
    expect(compose).to_have_value("Hi James, rally on Saturday at noon!")
    page.keyboard.press("Enter")
    more = page.get_by_role("button", name="Request 2 more")
    expect(more).to_be_visible()
    screenshot(page, "all-sent-request-more")

    # "Request more" brings the next batch in place; the cap (4) stops the third.
    more.click()
    expect(compose).to_have_value("Hi Aisha, rally on Saturday at noon!")
    page.keyboard.press("Enter")
    expect(compose).to_have_value("Hi Wei, rally on Saturday at noon!")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("button", name="Request 2 more")).to_be_visible()
    page.get_by_role("button", name="Request 2 more").click()
    expect(page.locator("[data-request-more-error]")).to_contain_text("limit of 4 contacts")

    sent = Message.objects.filter(direction=Direction.OUTBOUND).order_by("id")
    assert [m.contact.first_name for m in sent] == ["Maria", "James", "Aisha", "Wei"]
    assert Contact.objects.get(first_name="Sofia").assignment is None


def test_a_contact_reassigned_away_moves_the_page_on(
    dynamic_campaign: Campaign, redis_live_url: str, redis_channel_layer: None, page: Page
) -> None:
    # The organizer's change happens in this process; the texter's page is served by another.
    live_url = redis_live_url
    texter = User.objects.get(email="ada@example.com")
    assignment = Assignment.objects.create(campaign=dynamic_campaign, texter=texter)
    Contact.objects.filter(first_name__in=["Maria", "James"]).update(assignment=assignment)
    log_in(page, live_url, "ada@example.com", PASSWORD)
    page.get_by_role("link", name=re.compile("Send first messages")).click()
    wait_until_interactive(page)
    expect(page.locator("html[data-live='open']")).to_have_count(1)
    expect(page.locator(".contact-name")).to_have_text("Maria Doe")

    # An organizer takes Maria away (the back office's reassign publishes this event).
    maria = Contact.objects.get(first_name="Maria")

    def reassign() -> None:
        with transaction.atomic():
            Contact.objects.filter(pk=maria.pk).update(assignment=None)
            publish_contacts_reassigned(texter_id=texter.pk, campaign_id=dynamic_campaign.pk, contact_ids=[maria.pk])

    in_another_thread(reassign)
    expect(page.locator("[data-status]")).to_contain_text("reassigned by an organizer")
    expect(page.locator(".contact-name")).to_have_text("James Doe")

    # Done for today hands James back to the pool.
    page.get_by_role("link", name=re.compile("Todos")).click()
    page.locator(".done-today summary").click()
    page.get_by_role("button", name="Hand them back").click()
    expect(page.locator("[data-status]")).to_contain_text("1 contact went back for other texters")
    assert Contact.objects.get(first_name="James").assignment is None
    assert Contact.objects.get(first_name="James").status == ContactStatus.NEEDS_MESSAGE


def test_an_organizer_taking_the_unsent_contacts_back_moves_the_page_on(
    dynamic_campaign: Campaign, redis_live_url: str, redis_channel_layer: None, page: Page
) -> None:
    texter = User.objects.get(email="ada@example.com")
    assignment = Assignment.objects.create(campaign=dynamic_campaign, texter=texter)
    Contact.objects.filter(first_name__in=["Maria", "James"]).update(assignment=assignment)
    log_in(page, redis_live_url, "ada@example.com", PASSWORD)
    page.get_by_role("link", name=re.compile("Send first messages")).click()
    wait_until_interactive(page)
    expect(page.locator("html[data-live='open']")).to_have_count(1)
    expect(page.locator(".contact-name")).to_have_text("Maria Doe")

    # The back office's "unassign" (in another process) says only "assignments changed": the page
    # re-checks the contact it shows.
    in_another_thread(lambda: assignment_unassign(assignment=assignment))

    expect(page.locator("[data-status]")).to_contain_text("reassigned by an organizer")
    expect(page.get_by_role("heading", name=re.compile("All sent"))).to_be_visible()
    assert not Message.objects.exists()
