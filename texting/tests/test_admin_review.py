"""Message review: filters kept in the URL, reassign selected or every matching conversation,
un-assign, close, and a reply sent from review; per role and per organization."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, ContactTag
from spoke.testing import CampaignFactory, ContactFactory, MembershipFactory, MessageFactory, TagFactory
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:campaigns_contact_changelist"


def changelist(**params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse(CHANGELIST) + (f"?{query}" if query else "")


def listed(client: Client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    return {contact.cell for contact in response.context["cl"].result_list}


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def conversations(campaign: Campaign, assignment: Assignment) -> list[Contact]:
    """Six conversations of one texter: two overdue replies, one fresh reply, three messaged."""
    old = timezone.now() - dt.timedelta(hours=campaign.response_window_hours + 5)
    contacts = [
        ContactFactory.create(campaign=campaign, assignment=assignment, status=status, cell=f"+1202555100{i}")
        for i, status in enumerate([ContactStatus.NEEDS_RESPONSE] * 3 + [ContactStatus.MESSAGED] * 3)
    ]
    Contact.objects.filter(pk__in=[contacts[0].pk, contacts[1].pk]).update(updated_at=old)
    return contacts


def test_filters_are_query_parameters_and_narrow_the_review(
    owner_client: Client, organization: Organization, conversations: list[Contact]
) -> None:
    tag = TagFactory.create(organization=organization, name="needs ride")
    ContactTag.objects.create(contact=conversations[3], tag=tag)
    Contact.objects.filter(pk=conversations[4].pk).update(error_code=30007)
    MessageFactory.create(contact=conversations[5], body="Where is my polling place?", direction=Direction.INBOUND)

    assert listed(owner_client, changelist(waiting="overdue")) == {"+12025551000", "+12025551001"}
    assert listed(owner_client, changelist(waiting="within")) == {"+12025551002"}
    assert listed(owner_client, changelist(tag=str(tag.pk))) == {"+12025551003"}
    assert listed(owner_client, changelist(error="30007")) == {"+12025551004"}
    assert listed(owner_client, changelist(text="polling")) == {"+12025551005"}
    # Filters combine, and the message-text box keeps the other filters of the page.
    response = owner_client.get(changelist(status__exact="messaged", text="polling"))
    assert {c.cell for c in response.context["cl"].result_list} == {"+12025551005"}
    assert b'name="status__exact" value="messaged"' in response.content


def test_review_filters_cost_a_fixed_number_of_queries(
    owner_client: Client, organization: Organization, campaign: Campaign, assignment: Assignment
) -> None:
    url = changelist(waiting="overdue", text="vote", tag="none", error="any")

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url).status_code == 200
        return len(queries)

    statements()
    few = statements()
    for _ in range(8):
        contact = ContactFactory.create(campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
        MessageFactory.create(contact=contact, body="vote", error_code=30003)
    Contact.objects.update(error_code=30003, updated_at=timezone.now() - dt.timedelta(days=30))
    assert statements() == few


def test_reassign_selected_to_one_texter(
    owner_client: Client, conversations: list[Contact], other_texter: User, campaign: Campaign
) -> None:
    chosen = [conversations[0].pk, conversations[3].pk]
    form = owner_client.post(
        changelist(), {"action": "reassign_selected", "_selected_action": chosen, "select_across": "0", "index": "0"}
    )
    assert form.status_code == 200
    assert b"Reassign <strong>2</strong>" in form.content
    response = owner_client.post(
        changelist(),
        {
            "action": "reassign_selected",
            "_selected_action": chosen,
            "select_across": "0",
            "index": "0",
            "apply": "1",
            "texters": [other_texter.pk],
        },
    )
    assert response.status_code == 302
    moved = Contact.objects.filter(assignment__texter=other_texter, campaign=campaign)
    assert sorted(moved.values_list("pk", flat=True)) == sorted(chosen)
    assert "Reassigned 2 conversations" in messages_of(response)[0]


def test_reassign_all_matching_the_filter_splits_across_texters_beyond_the_page(
    owner_client: Client,
    organization: Organization,
    campaign: Campaign,
    assignment: Assignment,
    texter: User,
    other_texter: User,
) -> None:
    waiting = ContactFactory.create_batch(
        60, campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE
    )
    ContactFactory.create_batch(5, campaign=campaign, assignment=assignment, status=ContactStatus.MESSAGED)
    third = MembershipFactory.create(organization=organization, role=Role.TEXTER).user
    url = changelist(status__exact="needs_response")  # 60 rows: more than one page of 50
    response = owner_client.post(
        url,
        {
            "action": "reassign_selected",
            "_selected_action": [waiting[0].pk],  # the page's checkbox; "select all" widens it
            "select_across": "1",
            "index": "0",
            "apply": "1",
            "texters": [other_texter.pk, third.pk],
        },
    )
    assert response.status_code == 302
    assert Contact.objects.filter(assignment__texter=other_texter).count() == 30
    assert Contact.objects.filter(assignment__texter=third).count() == 30
    # Contacts outside the filter stayed with their texter.
    assert Contact.objects.filter(assignment__texter=texter, status=ContactStatus.MESSAGED).count() == 5


def test_large_reassign_runs_as_jobs(
    owner_client: Client,
    campaign: Campaign,
    assignment: Assignment,
    other_texter: User,
    settings: SettingsWrapper,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import texting.admin_review as review

    monkeypatch.setattr(review, "BULK_JOB_THRESHOLD", 3)
    monkeypatch.setattr(review, "BULK_CHUNK", 2)
    contacts = ContactFactory.create_batch(5, campaign=campaign, assignment=assignment)
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(review, "enqueue", lambda func, **kwargs: queued.append({"func": func, **kwargs}))
    response = owner_client.post(
        changelist(),
        {
            "action": "reassign_selected",
            "_selected_action": [c.pk for c in contacts],
            "select_across": "0",
            "index": "0",
            "apply": "1",
            "texters": [other_texter.pk],
        },
    )
    assert response.status_code == 302
    assert [len(job["contact_ids"]) for job in queued] == [2, 2, 1]
    assert all(job["texter_ids"] == [other_texter.pk] for job in queued)
    assert "in the background" in messages_of(response)[0]
    for job in queued:  # what the worker does
        job["func"](contact_ids=job["contact_ids"], texter_ids=job["texter_ids"])
    assert Contact.objects.filter(assignment__texter=other_texter).count() == 5


def test_reassign_offers_only_members_and_refuses_outsiders(
    owner_client: Client, conversations: list[Contact], outsider: User
) -> None:
    response = owner_client.post(
        changelist(),
        {"action": "reassign_selected", "_selected_action": [conversations[0].pk], "select_across": "0", "index": "0"},
    )
    assert b"Otto" not in response.content
    response = owner_client.post(
        changelist(),
        {
            "action": "reassign_selected",
            "_selected_action": [conversations[0].pk],
            "select_across": "0",
            "index": "0",
            "apply": "1",
            "texters": [outsider.pk],
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert b"Choose at least one texter" in response.content
    conversations[0].refresh_from_db()
    assert conversations[0].assignment is not None and conversations[0].assignment.texter.first_name != "Otto"


def test_unassign_and_close_selected(owner_client: Client, conversations: list[Contact]) -> None:
    ids = [conversations[0].pk, conversations[1].pk]
    owner_client.post(changelist(), {"action": "unassign_selected", "_selected_action": ids, "index": "0"})
    assert Contact.objects.filter(pk__in=ids, assignment__isnull=True).count() == 2
    owner_client.post(changelist(), {"action": "close_selected", "_selected_action": ids, "index": "0"})
    assert Contact.objects.filter(pk__in=ids, status=ContactStatus.CLOSED).count() == 2


def test_bulk_actions_never_touch_another_organization(
    owner_client: Client, conversations: list[Contact], other_organization: Organization
) -> None:
    foreign = ContactFactory.create(
        campaign=CampaignFactory.create(organization=other_organization),
        assignment=None,
        status=ContactStatus.NEEDS_RESPONSE,
    )
    owner_client.post(
        changelist(),
        {"action": "close_selected", "_selected_action": [foreign.pk, conversations[0].pk], "index": "0"},
    )
    foreign.refresh_from_db()
    assert foreign.status == ContactStatus.NEEDS_RESPONSE
    assert Contact.objects.get(pk=conversations[0].pk).status == ContactStatus.CLOSED


def _send_url(contact: Contact) -> str:
    return reverse("admin:campaigns_contact_send", args=[contact.pk])


@time_machine.travel(dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC), tick=False)
def test_supervolunteer_replies_from_review(client: Client, supervolunteer: User, conversations: list[Contact]) -> None:
    contact = conversations[2]
    client.force_login(supervolunteer)
    page = client.get(reverse("admin:campaigns_contact_change", args=[contact.pk]))
    assert b"Reply from review" in page.content
    response = client.post(_send_url(contact), {"body": "Polls are open until 8 pm."})
    assert response.status_code == 302
    message = Message.objects.get(contact=contact)
    assert (message.texter, message.status, message.body) == (
        supervolunteer,
        MessageStatus.QUEUED,
        "Polls are open until 8 pm.",
    )
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CONVO


@time_machine.travel(dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC), tick=False)
def test_reply_from_review_respects_texting_hours(
    owner_client: Client, organization: Organization, conversations: list[Contact]
) -> None:
    Organization.objects.filter(pk=organization.pk).update(texting_hours_enforced=True)
    response = owner_client.post(_send_url(conversations[2]), {"body": "Hello at midnight"})
    assert "outside texting hours" in messages_of(response)[0]
    assert not Message.objects.exists()


def test_reply_from_review_is_404_for_another_organization(
    outsider_client: Client, conversations: list[Contact]
) -> None:
    assert outsider_client.post(_send_url(conversations[2]), {"body": "hi"}).status_code == 404
    assert not Message.objects.exists()


def test_texter_has_no_review(texter_client: Client, conversations: list[Contact]) -> None:
    response = texter_client.post(_send_url(conversations[2]), {"body": "hi"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Message.objects.exists()


def test_supervolunteer_reassigns_and_the_old_texter_keeps_nothing(
    client: Client, supervolunteer: User, conversations: list[Contact], texter: User, other_texter: User
) -> None:
    client.force_login(supervolunteer)
    ids = [c.pk for c in conversations]
    response = client.post(
        changelist(),
        {
            "action": "reassign_selected",
            "_selected_action": ids,
            "index": "0",
            "apply": "1",
            "texters": [other_texter.pk],
        },
    )
    assert response.status_code == 302
    assert not Contact.objects.filter(assignment__texter=texter).exists()
    assert Contact.objects.filter(assignment__texter=other_texter).count() == len(ids)


def test_suspended_people_are_not_offered_for_reassignment(
    owner_client: Client, organization: Organization, conversations: list[Contact]
) -> None:
    suspended = MembershipFactory.create(organization=organization, role=Role.SUSPENDED).user
    form = owner_client.post(
        changelist(), {"action": "reassign_selected", "_selected_action": [conversations[0].pk], "index": "0"}
    )
    assert suspended.email.encode() not in form.content
    assert str(suspended).encode() not in form.content
