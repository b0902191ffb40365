"""The back office in a real browser: the script tree editor, the upload progress bar and
message review (reassign every matching conversation, reply from review)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from playwright.sync_api import Page, expect

from accounts.models import Organization, Role, User
from campaigns.models import Campaign, Contact, ContactStatus, ImportJob, InteractionStep, JobStatus
from campaigns.services import contacts_assign, script_add_answer, script_set_first_message
from spoke.testing import PASSWORD, MembershipFactory, UserFactory
from tests_e2e.conftest import (
    deliver_inbound,
    log_in,
    screenshot,
    wait_until_interactive,
)
from texting.models import Direction, Message, MessageStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# The live server is one process for the whole session, and Django caches content type ids per
# process (the admin's audit log writes them). On PostgreSQL a transactional test's flush recreates
# the content types with new ids, so the server would log against ids that no longer exist. Each
# test here first gives the content types back the ids the server saw first.
_FIRST_CONTENT_TYPE_IDS: dict[tuple[str, str], int] = {}


@pytest.fixture(autouse=True)
def stable_content_type_ids(transactional_db: None) -> None:
    current = {(ct.app_label, ct.model): ct.pk for ct in ContentType.objects.all()}
    if not _FIRST_CONTENT_TYPE_IDS:
        _FIRST_CONTENT_TYPE_IDS.update(current)
        return
    moves = [(current[key], old) for key, old in _FIRST_CONTENT_TYPE_IDS.items() if current.get(key, old) != old]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for new, old in moves:
            cursor.execute("UPDATE django_content_type SET id = %s WHERE id = %s", [old, new])
            cursor.execute("UPDATE auth_permission SET content_type_id = %s WHERE content_type_id = %s", [old, new])
    ContentType.objects.clear_cache()


@pytest.fixture
def organizer(transactional_db: None) -> User:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    # Organizers are staff: `is_staff` is the key to the back office (accounts.services keeps it in step).
    owner = UserFactory(email="olive@example.com", first_name="Olive", last_name="Organizer", is_staff=True)
    MembershipFactory(user=owner, organization=organization, role=Role.OWNER)
    for email, first in [("ada@example.com", "Ada"), ("grace@example.com", "Grace"), ("alan@example.com", "Alan")]:
        MembershipFactory(
            user=UserFactory(email=email, first_name=first, last_name="Texter"), organization=organization
        )
    return owner


@pytest.fixture
def draft(organizer: User) -> Campaign:
    organization = Organization.objects.get(name="Vote Forward")
    campaign = Campaign.objects.create(organization=organization, title="Get out the vote — Nov")
    root = script_set_first_message(campaign=campaign, script="Hi {firstName}!", question="Can we count on your vote?")
    script_add_answer(parent=root, answer_option="No", script="Thanks anyway.")
    Contact.objects.create(campaign=campaign, first_name="Maria", cell="+13125550100", custom_fields={"ward": "7"})
    return campaign


def _admin(page: Page, live_url: str, path: str) -> None:
    log_in(page, live_url, "olive@example.com", PASSWORD)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)  # the login finished
    page.goto(f"{live_url}{path}")


def test_script_tree_editor_builds_a_nested_script(draft: Campaign, live_url: str, page: Page) -> None:
    _admin(page, live_url, f"/admin/campaigns/campaign/{draft.pk}/script/")
    wait_until_interactive(page)
    first = page.get_by_label("First message")
    warnings = page.locator("[data-warnings] li")
    expect(warnings).to_have_count(2)  # no opt-out language, no organization name

    first.fill("Hi ")
    page.locator("[data-chip=firstName]").click()
    first.press("End")
    first.type(", it's Ada with Vote Forward. Reply STOP to opt out. Can we count on your vote?")
    expect(first).to_have_value(re.compile(r"^Hi \{firstName\}, it's Ada with Vote Forward"))
    expect(warnings).to_have_count(0)
    expect(page.locator(".spoke-step-root > .spoke-step-script [data-count]")).to_contain_text("1 segment")
    expect(page.locator("[data-chip=ward]")).to_be_visible()  # a custom field of the loaded contacts

    # A "Yes" answer with a nested answer under its next question, moved above "No".
    page.get_by_role("button", name="+ Add an answer to the question").click()
    answers = page.locator(".spoke-step-root > [data-answers] > [data-step]")
    expect(answers).to_have_count(2)
    yes = answers.nth(1)
    yes.locator("[data-field=answer]").first.fill("Yes")
    yes.locator("textarea").first.fill("Great! Do you need a ride?")
    yes.locator("[data-field=question]").first.fill("Need a ride?")
    yes.get_by_role("button", name="+ Add an answer to the next question").click()
    ride = yes.locator("[data-answers] > [data-step]").first
    ride.locator("[data-field=answer]").fill("Needs a ride")
    ride.locator("textarea").fill("We'll call you with a time.")
    yes.get_by_role("button", name="Move this answer up").first.click()
    expect(answers.first.locator("[data-field=answer]").first).to_have_value("Yes")
    screenshot(page, "backoffice-script-editor")
    page.get_by_role("button", name="Save script").click()
    expect(page.locator(".messagelist")).to_contain_text("The script is saved.")

    root = InteractionStep.objects.get(campaign=draft, parent__isnull=True)
    assert root.script.startswith("Hi {firstName}, it's Ada with Vote Forward")
    yes_step = root.children.get(answer_option="Yes")
    assert (yes_step.position, yes_step.question) == (0, "Need a ride?")
    assert root.children.get(answer_option="No").position == 1
    assert yes_step.children.get().answer_option == "Needs a ride"


def test_upload_progress_bar_moves_and_the_report_appears(draft: Campaign, live_url: str, page: Page) -> None:
    job = ImportJob.objects.create(
        campaign=draft, status=JobStatus.RUNNING, progress=20, source_file="imports/x.csv", original_name="voters.csv"
    )
    _admin(page, live_url, f"/admin/campaigns/campaign/{draft.pk}/upload/")
    bar = page.get_by_role("progressbar", name="Import progress")
    expect(bar).to_have_attribute("aria-valuenow", "20")
    ImportJob.objects.filter(pk=job.pk).update(progress=65)
    expect(bar).to_have_attribute("aria-valuenow", "65")
    expect(page.locator("[data-import-percent]")).to_have_text("65%")
    screenshot(page, "backoffice-upload-progress")
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, progress=100, rows_total=120, imported=117, invalid_cell=2, duplicates=1
    )
    report = page.locator("#import-report")
    expect(report).to_contain_text("117")  # the page reloaded itself with the report
    expect(report).to_contain_text("invalid cell")


@pytest.fixture
def busy_campaign(organizer: User) -> Campaign:
    organization = Organization.objects.get(name="Vote Forward")
    campaign = Campaign.objects.create(organization=organization, title="Early vote", is_started=True)
    script_set_first_message(campaign=campaign, script="Hi {firstName}, it's Vote Forward. Reply STOP to opt out.")
    ada = User.objects.get(email="ada@example.com")
    Contact.objects.bulk_create(
        Contact(campaign=campaign, first_name=f"Voter{n}", last_name="Smith", cell=f"+1312555{n:04d}")
        for n in range(60)
    )
    contacts_assign(campaign=campaign, texter=ada, count=60)
    waiting = list(Contact.objects.filter(campaign=campaign).order_by("id")[:55])
    Contact.objects.filter(pk__in=[c.pk for c in waiting]).update(status=ContactStatus.NEEDS_RESPONSE)
    for contact in waiting[:3]:
        Message.objects.create(
            organization=organization,
            campaign=campaign,
            contact=contact,
            texter=ada,
            direction=Direction.OUTBOUND,
            body=f"Hi {contact.first_name}, it's Ada with Vote Forward.",
            status=MessageStatus.DELIVERED,
            to_number=contact.cell,
        )
        Message.objects.create(
            organization=organization,
            campaign=campaign,
            contact=contact,
            direction=Direction.INBOUND,
            body="Where do I vote?",
            status=MessageStatus.RECEIVED,
            from_number=contact.cell,
        )
    return campaign


def test_message_review_reassigns_every_matching_conversation_and_replies(
    busy_campaign: Campaign, live_url: str, page: Page
) -> None:
    _admin(
        page, live_url, f"/admin/campaigns/contact/?campaign__id__exact={busy_campaign.pk}&status__exact=needs_response"
    )
    expect(page.locator("#result_list tbody tr")).to_have_count(50)  # one page of 55
    page.locator("#action-toggle").check()
    page.get_by_role("button", name=re.compile("Select all 55")).click()
    page.locator("select[name=action]").select_option("reassign_selected")
    page.locator(".actions button[name=index]").click()
    expect(page.get_by_text("every one matching the filters")).to_be_visible()
    page.get_by_label("Grace Texter").check()
    page.get_by_label("Alan Texter").check()
    screenshot(page, "backoffice-review-reassign")
    page.get_by_role("button", name="Reassign 55 conversations").click()
    expect(page.locator(".messagelist")).to_contain_text("Reassigned 55 conversations")
    # The filter is still in the URL after the action.
    assert "status__exact=needs_response" in page.url
    grace = Contact.objects.filter(campaign=busy_campaign, assignment__texter__email="grace@example.com").count()
    alan = Contact.objects.filter(campaign=busy_campaign, assignment__texter__email="alan@example.com").count()
    assert sorted([grace, alan]) == [27, 28]  # split evenly
    assert Contact.objects.filter(campaign=busy_campaign, assignment__texter__email="ada@example.com").count() == 5

    # Filter by message text, open the thread, reply from review.
    page.goto(f"{live_url}/admin/campaigns/contact/?campaign__id__exact={busy_campaign.pk}&text=where")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    screenshot(page, "backoffice-review")
    page.locator("#result_list tbody tr").first.locator("th a").click()
    expect(page.locator(".spoke-thread")).to_contain_text("Where do I vote?")
    page.get_by_placeholder(re.compile("Write a reply")).fill("At the library on Main St, open until 8 pm.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("on its way")
    sent = Message.objects.filter(campaign=busy_campaign, body__startswith="At the library").get()
    assert sent.texter is not None and sent.texter.email == "olive@example.com"
    screenshot(page, "backoffice-conversation")


def test_dashboard_and_campaign_list(busy_campaign: Campaign, draft: Campaign, live_url: str, page: Page) -> None:
    _admin(page, live_url, f"/admin/campaigns/campaign/{busy_campaign.pk}/results/")
    expect(page.locator("#headline")).to_contain_text("reply rate")
    expect(page.locator("#hourly svg")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_text("Live")  # the campaign websocket is open
    screenshot(page, "backoffice-dashboard")

    page.get_by_role("button", name="Export this campaign").click()
    link = page.locator("#exports").get_by_role("link", name="contacts.csv")
    expect(link).to_be_visible()  # the job ran in the server; the page lists its files
    with page.expect_download() as download:
        link.click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert exported.startswith("campaignId,campaign,contactId") and "Voter0" in exported
    page.goto(f"{live_url}/admin/campaigns/campaign/")
    expect(page.locator("#result_list")).to_contain_text("Early vote")
    screenshot(page, "backoffice-campaigns")


def test_dashboard_numbers_follow_a_reply_without_polling(busy_campaign: Campaign, live_url: str, page: Page) -> None:
    _admin(page, live_url, f"/admin/campaigns/campaign/{busy_campaign.pk}/results/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    replies = page.locator("#headline li", has_text="replies").locator("strong")
    expect(replies).to_have_text("3")
    cell = Contact.objects.filter(campaign=busy_campaign).order_by("id").values_list("cell", flat=True)[0]
    deliver_inbound(live_url, from_number=cell, body="I voted early!", sid="SMe2edashboard1")
    # The fallback poll is a minute away: the stats_changed event brings it, a window later.
    expect(replies).to_have_text("4", timeout=8_000)
