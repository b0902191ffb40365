"""The production Content Security Policy in a real browser: the texter app and the back office
load, work and report no violation (no inline script or style anywhere)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from accounts.models import Organization, Role
from campaigns.models import Campaign, Contact
from campaigns.services import campaign_start, contacts_assign, script_add_answer, script_set_first_message
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import log_in, wait_until_interactive

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def campaign(transactional_db: None) -> Campaign:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    texter = UserFactory(email="ada@example.com", first_name="Ada")
    MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)
    owner = UserFactory(email="olive@example.com", first_name="Olive", is_staff=True)
    MembershipFactory(user=owner, organization=organization, role=Role.OWNER)
    campaign = Campaign.objects.create(organization=organization, title="Get out the vote", primary_color="#2563eb")
    root = script_set_first_message(campaign=campaign, script="Hi {firstName}, it's {texterFirstName}. autorespond")
    script_add_answer(parent=root, answer_option="Yes", script="Thank you!")
    for i in range(3):
        Contact.objects.create(campaign=campaign, first_name=f"C{i}", last_name="Lopez", cell=f"+1312555020{i}")
    contacts_assign(campaign=campaign, texter=texter, count=3)
    campaign_start(campaign=campaign)
    return campaign


def _watch(page: Page) -> list[str]:
    """Every CSP violation the browser reports, and any script error."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    # Violations are also events in the page, whether or not the console reports them.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " console.error(`Refused to load: Content Security Policy ${e.violatedDirective} ${e.blockedURI}`));"
    )
    return problems


def test_the_texter_app_runs_under_the_production_csp_without_a_violation(
    campaign: Campaign, live_url: str, page: Page
) -> None:
    problems = _watch(page)
    log_in(page, live_url, "ada@example.com", PASSWORD)
    response = page.goto(f"{live_url}/texter/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    card = page.locator("article.card").first
    expect(card).to_be_visible()
    # The campaign's colour reached the card through the CSSOM, not an inline style.
    assert card.evaluate("el => el.style.getPropertyValue('--accent')") == "#2563eb"
    page.get_by_role("link", name=re.compile("Send first messages")).click()
    wait_until_interactive(page)
    page.keyboard.press("Enter")
    expect(page.locator("[data-compose]")).to_have_value(re.compile("^Hi C1"))
    page.goto(f"{live_url}/texter/")
    page.get_by_role("link", name=re.compile("Respond")).click()
    wait_until_interactive(page)
    assert problems == []


def test_the_back_office_runs_under_the_production_csp_without_a_violation(
    campaign: Campaign, live_url: str, page: Page
) -> None:
    problems = _watch(page)
    log_in(page, live_url, "olive@example.com", PASSWORD)
    pages = [
        "/admin/",
        "/admin/campaigns/campaign/",
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        f"/admin/campaigns/campaign/{campaign.pk}/script/",
        f"/admin/campaigns/campaign/{campaign.pk}/results/",
        f"/admin/campaigns/campaign/{campaign.pk}/upload/",
        "/admin/campaigns/contact/",
        "/admin/accounts/membership/",
    ]
    for address in pages:
        response = page.goto(f"{live_url}{address}")
        assert response is not None and response.status == 200, address
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
    # The dashboard's bars have their lengths (set from data-style-width through the CSSOM).
    page.goto(f"{live_url}/admin/campaigns/campaign/{campaign.pk}/results/")
    assert page.locator("[data-style-width]").count() > 0
    assert problems == []
