"""The todo list stays current on its own: counts, texting hours, and catching up after the
websocket drops."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Organization, Role
from campaigns.models import Campaign, Contact, ContactStatus
from campaigns.services import assignment_join, campaign_start, contacts_assign, script_set_first_message
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import deliver_inbound, log_in, screenshot, wait_until_interactive
from texting.models import Direction, Message, MessageStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def window_open_in_chicago_only() -> tuple[int, int]:
    """Texting hours that are open now in Chicago and closed in Honolulu (4 or 5 hours behind)."""
    hour = dt.datetime.now(ZoneInfo("America/Chicago")).hour
    return max(hour - 1, 0), min(hour + 2, 24)


@pytest.fixture
def two_campaigns(transactional_db: None) -> Campaign:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    texter = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lucas")
    MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)
    start, end = window_open_in_chicago_only()
    campaign = Campaign.objects.create(
        organization=organization,
        title="Get out the vote",
        description="Remind supporters to vote on Tuesday.",
        intro_html="<p>Be friendly and brief. <strong>Never argue.</strong> Questions? Ask in #texting.</p>",
        primary_color="#7c3aed",
        due_by=dt.date(2026, 12, 1),
        override_org_texting_hours=True,
        texting_hours_enforced=True,
        texting_hours_start=start,
        texting_hours_end=end,
    )
    script_set_first_message(campaign=campaign, script="Hi {firstName}, can we count on your vote?")
    for i, (first, tz) in enumerate(
        [("Maria", "America/Chicago"), ("James", "America/Chicago"), ("Aisha", "Pacific/Honolulu")]
    ):
        Contact.objects.create(
            campaign=campaign, first_name=first, last_name="Lopez", cell=f"+131255505{i:02d}", timezone=tz
        )
    replied = Contact.objects.create(
        campaign=campaign, first_name="Wei", last_name="Chen", cell="+13125550599", timezone="America/Chicago"
    )
    contacts_assign(campaign=campaign, texter=texter, count=4)
    campaign_start(campaign=campaign)
    Message.objects.create(
        organization=organization,
        campaign=campaign,
        contact=replied,
        direction=Direction.OUTBOUND,
        body="Hi Wei",
        status=MessageStatus.DELIVERED,
        to_number=replied.cell,
    )
    Contact.objects.filter(pk=replied.pk).update(status=ContactStatus.MESSAGED)
    rapid = Campaign.objects.create(
        organization=organization,
        title="Rapid response: rally on Saturday",
        description="Ask for contacts in batches of 50 when you have time.",
        primary_color="#c2410c",
        use_dynamic_assignment=True,
        batch_size=50,
    )
    script_set_first_message(campaign=rapid, script="Hi {firstName}, rally on Saturday!")
    Contact.objects.create(campaign=rapid, first_name="Sofia", cell="+13125550700")
    campaign_start(campaign=rapid)
    assignment_join(campaign=rapid, user=texter)
    return campaign


def test_the_todo_list_counts_texting_hours_and_catches_up_after_a_dropped_connection(
    two_campaigns: Campaign, live_url: str, page: Page
) -> None:
    log_in(page, live_url, "ada@example.com", PASSWORD)
    wait_until_interactive(page)
    card = page.locator(".card").filter(has_text="Get out the vote")
    expect(card.get_by_role("link", name=re.compile("Send first messages"))).to_contain_text("3")
    expect(card).to_contain_text("1 outside texting hours now")
    expect(card).to_contain_text("due Dec 1")
    expect(page.locator(".card").filter(has_text="Rapid response")).to_contain_text("Request more")
    expect(page.locator("html[data-live='open']")).to_have_count(1)
    screenshot(page, "todos")

    # The connection drops; a reply arrives meanwhile; the page reconnects and catches up.
    page.evaluate("import('/static/texter/live.js').then((live) => live.dropConnection())")
    expect(page.locator("html[data-live='closed']")).to_have_count(1)
    wei = Contact.objects.get(first_name="Wei")
    deliver_inbound(live_url, from_number=wei.cell, body="Yes, I'm in", sid="SMreconnect1")
    expect(page.locator("html[data-live='open']")).to_have_count(1)
    expect(card.get_by_role("link", name=re.compile("Respond"))).to_contain_text("1")

    # The send queue holds only the contacts inside texting hours.
    card.get_by_role("link", name=re.compile("Send first messages")).click()
    wait_until_interactive(page)
    expect(page.locator("[data-progress]")).to_have_text(re.compile(r"1\s+of\s+2"))
    expect(page.locator(".contact-name")).to_have_text("Maria Lopez")
