"""The texter's conversation flows in a real browser: a reply arriving live on the replies screen,
survey answers, canned responses, tags, opt-out, past and skipped lists, and a phone screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Organization, Role
from campaigns.models import Campaign, Contact, ContactStatus, ContactTag, OptOut, QuestionResponse, Tag
from campaigns.services import (
    campaign_start,
    canned_response_create,
    contacts_assign,
    script_add_answer,
    script_set_first_message,
)
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import (
    deliver_inbound,
    log_in,
    no_horizontal_scroll,
    screenshot,
    wait_until_interactive,
)
from texting.models import Direction, Message, MessageStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PEOPLE = [
    ("Maria", "Lopez", "60614", "America/Chicago", {"favorite_color": "green", "precinct": "12"}),
    ("James", "Okafor", "10001", "America/New_York", {"favorite_color": "blue", "precinct": "4"}),
    ("Aisha", "Khan", "96813", "Pacific/Honolulu", {"favorite_color": "red", "precinct": "7"}),
]


def conversation_with(contact: Contact, reply: str) -> None:
    """The contact was texted and wrote back: they wait in the texter's reply queue."""
    organization = contact.campaign.organization
    Message.objects.create(
        organization=organization,
        campaign=contact.campaign,
        contact=contact,
        direction=Direction.OUTBOUND,
        body=f"Hi {contact.first_name}, this is Ada with Vote Forward. Can we count on your vote?",
        status=MessageStatus.DELIVERED,
        to_number=contact.cell,
    )
    Message.objects.create(
        organization=organization,
        campaign=contact.campaign,
        contact=contact,
        direction=Direction.INBOUND,
        body=reply,
        status=MessageStatus.RECEIVED,
        from_number=contact.cell,
        provider_sid=f"SMseed{contact.pk}",
    )
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.NEEDS_RESPONSE)


@pytest.fixture
def conversations(transactional_db: None) -> Campaign:
    organization = Organization.objects.create(
        name="Vote Forward",
        texting_hours_enforced=False,
        opt_out_message="Understood, we won't text you again. Vote Forward.",
    )
    texter = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lucas")
    MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)
    campaign = Campaign.objects.create(
        organization=organization,
        title="Get out the vote",
        description="Remind supporters to vote on Tuesday.",
        intro_html="<p>Be friendly and brief. <strong>Never argue.</strong></p>",
        primary_color="#7c3aed",
    )
    root = script_set_first_message(
        campaign=campaign,
        script="Hi {firstName}, this is {texterFirstName} with Vote Forward. Can we count on your vote?",
        question="Can we count on your vote?",
    )
    script_add_answer(
        parent=root, answer_option="Yes", script="Wonderful, thank you {firstName}!", question="Need a ride?"
    )
    script_add_answer(parent=root, answer_option="No", script="Thanks for letting us know, {firstName}.")
    script_add_answer(parent=root, answer_option="Maybe", script="No worries! Polls are open 7am to 8pm.")
    canned_response_create(campaign=campaign, title="Where do I vote?", text="Find your polling place at vote.org")
    canned_response_create(campaign=campaign, title="Wrong number", text="Sorry to bother you, {firstName}!")
    canned_response_create(campaign=campaign, title="Early voting", text="Early voting runs until Saturday.")
    for name in ("needs ride", "volunteer", "spanish"):
        Tag.objects.create(organization=organization, name=name)
    for i, (first, last, zip_code, tz, fields) in enumerate(PEOPLE):
        Contact.objects.create(
            campaign=campaign,
            first_name=first,
            last_name=last,
            cell=f"+1312555020{i}",
            zip=zip_code,
            timezone=tz,
            custom_fields=fields,
        )
    contacts_assign(campaign=campaign, texter=texter, count=3)
    campaign_start(campaign=campaign)
    return campaign


def contact(first_name: str) -> Contact:
    return Contact.objects.get(first_name=first_name)


def open_replies(page: Page, live_url: str) -> None:
    log_in(page, live_url, "ada@example.com", PASSWORD)
    page.get_by_role("link", name=re.compile("Respond")).click()
    wait_until_interactive(page)
    expect(page.locator("html[data-live='open']")).to_have_count(1)


def test_a_reply_arrives_live_on_the_conversation_and_a_refresh_keeps_it(
    conversations: Campaign, live_url: str, page: Page
) -> None:
    conversation_with(contact("Maria"), "Who is this?")
    conversation_with(contact("James"), "Yes")
    open_replies(page, live_url)
    name = page.locator(".contact-name")
    expect(name).to_have_text("Maria Lopez")
    page.evaluate("window.spokeTestMarker = 'same page'")

    # Maria writes again while the texter reads: it appears in the thread without a reload.
    deliver_inbound(live_url, from_number=contact("Maria").cell, body="Oh hi Ada!", sid="SMlive-maria")
    expect(page.locator("[data-thread]")).to_contain_text("Oh hi Ada!")
    expect(name).to_have_text("Maria Lopez")
    # Aisha writes for the first time: a banner says so, the conversation on screen stays.
    Contact.objects.filter(first_name="Aisha").update(status=ContactStatus.MESSAGED)
    Message.objects.create(
        organization=conversations.organization,
        campaign=conversations,
        contact=contact("Aisha"),
        direction=Direction.OUTBOUND,
        body="Hi Aisha",
        status=MessageStatus.DELIVERED,
        to_number=contact("Aisha").cell,
    )
    deliver_inbound(live_url, from_number=contact("Aisha").cell, body="Count me in", sid="SMlive-aisha")
    expect(page.locator("[data-banner]")).to_contain_text("1 new reply")
    expect(page.locator("[data-waiting]").first).to_have_text("3")
    assert page.evaluate("window.spokeTestMarker") == "same page"

    # Maria's new reply moved her to the back of the queue; a refresh still shows her.
    expect(page).to_have_url(re.compile(rf"\?contact={contact('Maria').pk}$"))
    page.reload()
    wait_until_interactive(page)
    expect(name).to_have_text("Maria Lopez")


def test_survey_answers_canned_responses_tags_and_opt_out(conversations: Campaign, live_url: str, page: Page) -> None:
    conversation_with(contact("Maria"), "Yes, I'll be there!")
    conversation_with(contact("James"), "Please stop texting me")
    open_replies(page, live_url)
    compose = page.locator("[data-compose]")
    expect(page.locator(".contact-name")).to_have_text("Maria Lopez")
    expect(page.locator(".side-pane")).to_contain_text("Favorite color")

    # A survey answer by key: its script fills the box and the answer is recorded.
    page.keyboard.press("1")
    expect(compose).to_have_value("Wonderful, thank you Maria!")
    expect(page.get_by_role("button", name=re.compile("Yes"))).to_have_attribute("aria-pressed", "true")
    assert QuestionResponse.objects.get(contact=contact("Maria")).value == "Yes"
    # Changing the answer replaces it.
    page.get_by_role("button", name=re.compile("Maybe")).click()
    expect(compose).to_have_value("No worries! Polls are open 7am to 8pm.")
    expect(page.get_by_role("button", name=re.compile("Maybe"))).to_have_attribute("aria-pressed", "true")
    assert list(QuestionResponse.objects.filter(contact=contact("Maria")).values_list("value", flat=True)) == ["Maybe"]

    # Canned responses are searchable; choosing one fills the box with it filled in.
    page.get_by_label("Search canned responses").fill("wrong")
    expect(page.locator("[data-canned-list] li:visible")).to_have_count(1)
    page.get_by_role("button", name=re.compile("Wrong number")).click()
    expect(compose).to_have_value("Sorry to bother you, Maria!")
    page.get_by_label("Search canned responses").fill("")
    page.get_by_role("button", name=re.compile("Where do I vote")).click()
    expect(compose).to_have_value("Find your polling place at vote.org")

    # Tags toggle and save at once.
    chip = page.get_by_role("button", name="needs ride")
    chip.click()
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-status]")).to_contain_text("Tags saved")
    assert list(ContactTag.objects.filter(contact=contact("Maria")).values_list("tag__name", flat=True)) == [
        "needs ride"
    ]
    screenshot(page, "replies")

    compose.press("Enter")
    expect(page.locator(".contact-name")).to_have_text("James Okafor")
    sent = Message.objects.filter(contact=contact("Maria"), direction=Direction.OUTBOUND).order_by("-id").first()
    assert sent is not None and sent.body == "Find your polling place at vote.org"

    # Opt-out dialog: without the organization's message this time.
    page.get_by_role("button", name="Opt out").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Understood, we won't text you again.")
    screenshot(page, "opt-out-dialog", full_page=False)
    dialog.get_by_label("Send the organization's opt-out message").uncheck()
    dialog.get_by_role("button", name="Opt out").click()
    expect(page.get_by_role("heading", name=re.compile("No replies waiting"))).to_be_visible()
    assert OptOut.objects.filter(cell=contact("James").cell).exists()
    assert contact("James").status == ContactStatus.CLOSED
    assert not Message.objects.filter(contact=contact("James"), is_opt_out_notice=True).exists()


def test_the_opt_out_message_is_sent_when_ticked(conversations: Campaign, live_url: str, page: Page) -> None:
    conversation_with(contact("Aisha"), "STOP please")
    open_replies(page, live_url)
    page.get_by_role("button", name="Opt out").click()
    page.get_by_role("dialog").get_by_role("button", name="Opt out").click()
    expect(page.get_by_role("heading", name=re.compile("No replies waiting"))).to_be_visible()
    notice = Message.objects.get(contact=contact("Aisha"), is_opt_out_notice=True)
    assert notice.body == "Understood, we won't text you again. Vote Forward."
    assert contact("Aisha").is_opted_out


def test_past_and_skipped_lists_search_by_name(conversations: Campaign, live_url: str, page: Page) -> None:
    conversation_with(contact("Maria"), "Yes")
    conversation_with(contact("James"), "Maybe")
    Contact.objects.filter(first_name="Aisha").update(status=ContactStatus.CLOSED)
    log_in(page, live_url, "ada@example.com", PASSWORD)
    card = page.locator(".card")
    expect(card.locator("[data-count='closed']")).to_have_text("1")
    card.get_by_role("link", name=re.compile("Past")).click()
    expect(page.locator(".past-list li")).to_have_count(2)
    page.get_by_label("Search by name").fill("okaf")
    page.get_by_label("Search by name").press("Enter")
    expect(page.locator(".past-list li")).to_have_count(1)
    expect(page.locator(".past-list")).to_contain_text("James Okafor")
    page.get_by_label("Search by name").fill("")
    page.get_by_label("Search by name").press("Enter")
    screenshot(page, "past-conversations")
    page.get_by_role("link", name="Skipped").click()
    expect(page.locator(".past-list")).to_contain_text("Aisha Khan")
    page.get_by_role("link", name=re.compile("Aisha Khan")).click()
    expect(page.locator("[data-thread]")).to_contain_text("This conversation is closed")


def test_the_send_screen_shows_the_contact_panel_and_counts_the_message(
    conversations: Campaign, live_url: str, page: Page
) -> None:
    log_in(page, live_url, "ada@example.com", PASSWORD)
    page.get_by_role("link", name=re.compile("Send first messages")).click()
    wait_until_interactive(page)
    panel = page.locator(".side-pane")
    expect(panel).to_contain_text("Favorite color")
    expect(panel).to_contain_text("green")
    expect(page.locator(".contact-meta")).to_contain_text("their time")
    compose = page.locator("[data-compose]")
    expect(compose).to_have_attribute("readonly", "")
    expect(page.locator("[data-counter]")).to_have_text(re.compile(r"^\d+/160$"))
    expect(page.locator("[data-progress]")).to_have_text(re.compile(r"1\s+of\s+3"))
    screenshot(page, "send-first-messages")
    # Previous / next without sending; the box keeps its height from one contact to the next.
    height = compose.bounding_box()["height"]  # type: ignore[index]
    page.keyboard.press("Control+.")
    expect(page.locator(".contact-name")).to_have_text("James Okafor")
    assert compose.bounding_box()["height"] == height  # type: ignore[index]
    page.keyboard.press("Control+,")
    expect(page.locator(".contact-name")).to_have_text("Maria Lopez")


def test_a_texter_works_on_a_phone(conversations: Campaign, live_url: str, phone_page: Page) -> None:
    page = phone_page
    conversation_with(contact("Maria"), "Yes! How do I get there?")
    log_in(page, live_url, "ada@example.com", PASSWORD)
    expect(page.get_by_role("link", name=re.compile("Send first messages"))).to_contain_text("2")
    assert no_horizontal_scroll(page)
    screenshot(page, "phone-todos")

    page.get_by_role("link", name=re.compile("Send first messages")).tap()
    wait_until_interactive(page)
    expect(page.locator(".contact-name")).to_have_text("James Okafor")
    assert no_horizontal_scroll(page)
    send = page.get_by_role("button", name=re.compile("^Send"))
    box = send.bounding_box()
    assert box is not None and box["height"] >= 44 and box["y"] + box["height"] <= 740  # on screen, tappable
    screenshot(page, "phone-send", full_page=False)
    send.tap()
    expect(page.locator(".contact-name")).to_have_text("Aisha Khan")
    send.tap()
    expect(page.get_by_role("heading", name=re.compile("All sent"))).to_be_visible()

    page.get_by_role("link", name=re.compile("Todos")).first.tap()
    page.get_by_role("link", name=re.compile("Respond")).tap()
    wait_until_interactive(page)
    expect(page.locator(".contact-name")).to_have_text("Maria Lopez")
    assert no_horizontal_scroll(page)
    screenshot(page, "phone-replies", full_page=False)
    toggle = page.get_by_role("button", name="Survey & responses")
    expect(page.get_by_role("button", name=re.compile("Yes"))).to_be_hidden()
    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    screenshot(page, "phone-replies-panel", full_page=False)
    page.get_by_role("button", name=re.compile("Yes")).tap()
    # Choosing an answer folds the panel away and shows the filled box.
    expect(page.locator("[data-compose]")).to_have_value("Wonderful, thank you Maria!")
    expect(page.locator("[data-compose]")).to_be_in_viewport()
    page.get_by_role("button", name=re.compile("^Send")).tap()
    expect(page.get_by_role("heading", name=re.compile("No replies waiting"))).to_be_visible()
    assert QuestionResponse.objects.get(contact=contact("Maria")).value == "Yes"
