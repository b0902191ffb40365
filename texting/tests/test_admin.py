"""The back office's conversation and message pages: access by role, the thread, status actions,
message review and query counts on big lists."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, ContactTag, OptOutSource, QuestionResponse
from campaigns.services import optout_create
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MessageFactory, TagFactory, UserFactory
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def thread(contact: Contact, texter: User) -> list[Message]:
    return [
        MessageFactory(contact=contact, texter=texter, body="Hi Maria, this is Ada. Can we count on your vote?"),
        MessageFactory(
            contact=contact,
            direction=Direction.INBOUND,
            body="Yes! Where do I vote?",
            status=MessageStatus.RECEIVED,
            to_number="",
            from_number=contact.cell,
        ),
        MessageFactory(
            contact=contact,
            texter=texter,
            body="At the library on Main St.",
            status=MessageStatus.FAILED,
            error_code=30007,
        ),
    ]


# --- Access by role --------------------------------------------------------------------------------


def test_owner_opens_conversation_and_message_pages(
    client: Client, owner: User, contact: Contact, thread: list[Message]
) -> None:
    client.force_login(owner)
    for page in (
        url("campaigns_contact_changelist"),
        url("campaigns_contact_change", contact.pk),
        url("texting_message_changelist"),
        url("texting_message_change", thread[0].pk),
    ):
        assert client.get(page).status_code == 200, page


def test_supervolunteer_reviews_conversations_and_messages(
    client: Client, supervolunteer: User, contact: Contact, thread: list[Message]
) -> None:
    client.force_login(supervolunteer)
    assert b"Maria" in client.get(url("campaigns_contact_changelist")).content
    assert client.get(url("campaigns_contact_change", contact.pk)).status_code == 200
    assert b"Where do I vote?" in client.get(url("texting_message_changelist")).content
    assert client.get(url("texting_message_change", thread[1].pk)).status_code == 200


def test_texter_is_sent_to_the_admin_login(client: Client, texter: User, contact: Contact) -> None:
    client.force_login(texter)
    for page in (url("campaigns_contact_changelist"), url("texting_message_changelist")):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith(url("login"))


def test_outsider_sees_no_conversation_or_message(
    client: Client, outsider: User, contact: Contact, thread: list[Message]
) -> None:
    client.force_login(outsider)
    assert b"Maria" not in client.get(url("campaigns_contact_changelist")).content
    assert b"Where do I vote?" not in client.get(url("texting_message_changelist")).content
    for page in (url("campaigns_contact_change", contact.pk), url("texting_message_change", thread[1].pk)):
        response = client.get(page)
        assert response.status_code == 404
        assert b"Where do I vote?" not in response.content and b"Maria" not in response.content
    assert client.post(url("campaigns_contact_status", contact.pk), {"status": "close"}).status_code == 404
    contact.refresh_from_db()
    assert contact.status == ContactStatus.NEEDS_MESSAGE


def test_list_filters_offer_only_the_users_campaigns_and_people(
    client: Client, owner: User, contact: Contact, other_organization: Organization
) -> None:
    CampaignFactory(organization=other_organization, title="Foreign campaign title")
    stranger = UserFactory(first_name="Foreignperson")
    AssignmentFactory(campaign=CampaignFactory(organization=other_organization), texter=stranger)
    client.force_login(owner)
    for page in (url("campaigns_contact_changelist"), url("texting_message_changelist")):
        html = client.get(page).content.decode()
        assert "Get out the vote" in html
        assert "Foreign campaign title" not in html and "Foreignperson" not in html


# --- Conversation page ---------------------------------------------------------------------------


def test_conversation_page_shows_the_thread_answers_tags_and_opt_out(
    client: Client, owner: User, contact: Contact, thread: list[Message], campaign: Campaign
) -> None:
    root = campaign.interaction_steps.get(parent__isnull=True)
    QuestionResponse.objects.create(contact=contact, interaction_step=root, value="Yes")
    ContactTag.objects.create(contact=contact, tag=TagFactory(organization=campaign.organization, name="needs ride"))
    optout_create(organization=campaign.organization, cell=contact.cell, source=OptOutSource.TEXTER, reason="rude")
    client.force_login(owner)
    response = client.get(url("campaigns_contact_change", contact.pk))
    html = response.content.decode()
    positions = [html.index(body) for body in ("this is Ada.", "Where do I vote?", "Main St.")]
    assert positions == sorted(positions)  # oldest first
    assert "spoke-bubble-out" in html and "spoke-bubble-in" in html
    assert "Error 30007: Carrier filtering: message flagged as spam or violation" in html
    assert "Can we count on your vote? → <strong>Yes</strong>" in html
    assert "needs ride" in html
    assert "Yes, since" in html and "rude" in html
    assert b'name="_save"' not in response.content  # contacts are read-only


def test_conversation_page_runs_a_fixed_number_of_queries(
    client: Client, owner: User, contact: Contact, texter: User
) -> None:
    client.force_login(owner)

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("campaigns_contact_change", contact.pk)).status_code == 200
        return len(queries)

    MessageFactory(contact=contact, texter=texter)
    statements()  # warm per-process caches (content types, sessions)
    few = statements()
    MessageFactory.create_batch(6, contact=contact, texter=texter)
    assert statements() == few


def test_close_and_reopen_from_the_conversation_page(
    client: Client, supervolunteer: User, contact: Contact, thread: list[Message]
) -> None:
    client.force_login(supervolunteer)
    page = client.get(url("campaigns_contact_change", contact.pk)).content.decode()
    assert url("campaigns_contact_status", contact.pk) in page and "Close conversation" in page
    client.post(url("campaigns_contact_status", contact.pk), {"status": "close"})
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CLOSED
    assert "Reopen conversation" in client.get(url("campaigns_contact_change", contact.pk)).content.decode()
    client.post(url("campaigns_contact_status", contact.pk), {"status": "reopen"})
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CONVO
    assert client.get(url("campaigns_contact_status", contact.pk)).status_code == 405


def test_close_and_reopen_actions(client: Client, owner: User, campaign: Campaign, assignment: Assignment) -> None:
    talking = ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.CONVO)
    MessageFactory(contact=talking)  # it was texted, so reopening makes it a conversation again
    opted_out = ContactFactory(campaign=campaign, is_opted_out=True, status=ContactStatus.CLOSED)
    client.force_login(owner)
    changelist = url("campaigns_contact_changelist")
    client.post(changelist, {"action": "close_selected", "_selected_action": [talking.pk]})
    talking.refresh_from_db()
    assert talking.status == ContactStatus.CLOSED
    response = client.post(changelist, {"action": "reopen_selected", "_selected_action": [talking.pk, opted_out.pk]})
    talking.refresh_from_db()
    opted_out.refresh_from_db()
    assert talking.status == ContactStatus.CONVO
    assert opted_out.status == ContactStatus.CLOSED
    assert any(opted_out.cell in message for message in messages_of(response))


def test_contact_search_by_name_and_by_cell_in_any_format(
    client: Client, owner: User, campaign: Campaign, contact: Contact
) -> None:
    ContactFactory(campaign=campaign, first_name="Zed", cell="+12025550188")
    client.force_login(owner)
    by_name = client.get(url("campaigns_contact_changelist"), {"q": "Mar"})
    assert [c.first_name for c in by_name.context["cl"].result_list] == ["Maria"]
    by_cell = client.get(url("campaigns_contact_changelist"), {"q": "(202) 555-0188"})
    assert [c.first_name for c in by_cell.context["cl"].result_list] == ["Zed"]


def test_contact_changelist_filters_by_campaign(
    client: Client, owner: User, campaign: Campaign, contact: Contact
) -> None:
    other = CampaignFactory(organization=campaign.organization)
    ContactFactory(campaign=other, first_name="Elsewhere")
    client.force_login(owner)
    response = client.get(url("campaigns_contact_changelist"), {"campaign__id__exact": campaign.pk})
    assert [c.first_name for c in response.context["cl"].result_list] == ["Maria"]


def _contact_changelist_statements(client: Client, campaign: Campaign, texter: User, contacts: int) -> int:
    for _ in range(contacts):
        assignment = AssignmentFactory(campaign=campaign, texter=UserFactory())
        ContactFactory(campaign=campaign, assignment=assignment)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("campaigns_contact_changelist")).status_code == 200
    return len(queries)


def test_contact_changelist_runs_a_fixed_number_of_queries(
    client: Client, owner: User, campaign: Campaign, texter: User
) -> None:
    client.force_login(owner)
    client.get(url("campaigns_contact_changelist"))  # warm per-process caches (content types, sessions)
    few = _contact_changelist_statements(client, campaign, texter, 2)
    many = _contact_changelist_statements(client, campaign, texter, 10)
    assert few == many


# --- Messages ------------------------------------------------------------------------------------


def test_messages_are_read_only(client: Client, owner: User, thread: list[Message]) -> None:
    client.force_login(owner)
    assert client.get(url("texting_message_add")).status_code == 403
    change = client.get(url("texting_message_change", thread[0].pk))
    assert change.status_code == 200 and b'name="_save"' not in change.content
    assert client.post(url("texting_message_change", thread[0].pk), {"body": "edited"}).status_code == 403
    assert client.get(url("texting_message_delete", thread[0].pk)).status_code == 403
    thread[0].refresh_from_db()
    assert thread[0].body.startswith("Hi Maria")


def test_message_filters_by_error_direction_and_unmatched(
    client: Client, owner: User, organization: Organization, thread: list[Message]
) -> None:
    organization.messaging_service_sid = "MG_ours"
    organization.save()
    unmatched = Message.objects.create(
        direction=Direction.INBOUND,
        body="who is this?",
        status=MessageStatus.RECEIVED,
        from_number="+12025550999",
        messaging_service_sid="MG_ours",
    )
    Message.objects.create(
        direction=Direction.INBOUND, body="someone else's", status=MessageStatus.RECEIVED, messaging_service_sid=""
    )
    client.force_login(owner)
    changelist = url("texting_message_changelist")

    def bodies(**params: str) -> list[str]:
        return [m.body for m in client.get(changelist, params).context["cl"].result_list]

    assert bodies(error="30007") == ["At the library on Main St."]
    assert bodies(direction__exact="in") == ["who is this?", "Yes! Where do I vote?"]
    assert bodies(matched="no") == ["who is this?"]
    assert bodies(q="+1 202 555 0999") == ["who is this?"]
    assert client.get(url("texting_message_change", unmatched.pk)).status_code == 200


def test_message_changelist_runs_a_fixed_number_of_queries(client: Client, owner: User, contact: Contact) -> None:
    client.force_login(owner)

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("texting_message_changelist")).status_code == 200
        return len(queries)

    MessageFactory(contact=contact)
    statements()  # warm per-process caches (content types, sessions)
    few = statements()
    for _ in range(6):
        MessageFactory(contact=ContactFactory(campaign=contact.campaign), texter=UserFactory())
    assert statements() == few


def test_campaign_changelist_counts_messages_sent(
    client: Client, owner: User, campaign: Campaign, contact: Contact, thread: list[Message]
) -> None:
    MessageFactory(contact=contact, status=MessageStatus.DELIVERED)
    MessageFactory(contact=contact, status=MessageStatus.QUEUED)
    client.force_login(owner)
    response = client.get(url("campaigns_campaign_changelist"))
    (row,) = response.context["cl"].result_list
    assert row.messages_sent_total == 2  # one sent, one delivered; queued and failed don't count
    results = client.get(url("campaigns_campaign_results", campaign.pk))
    stats = results.context["message_stats"]
    assert (stats["sent"], stats["replies"], stats["failed"]) == (2, 1, 1)
    assert stats["error_bars"][0].label == "30007"
    assert "Carrier filtering" in stats["error_bars"][0].note
