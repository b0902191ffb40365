"""The texter app's second round: the pinned reply queue, past and skipped lists with search,
the contact panel's fields, re-checking a contact after assignments change, and dynamic assignment."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MessageFactory
from texting.models import Direction, MessageStatus

pytestmark = pytest.mark.django_db

NY_NOON = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)


def needs_response(contact: Contact, reply: str = "Yes") -> Contact:
    MessageFactory(contact=contact, body="Hi there", status=MessageStatus.DELIVERED)
    MessageFactory(contact=contact, body=reply, direction=Direction.INBOUND, status=MessageStatus.RECEIVED)
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.NEEDS_RESPONSE)
    contact.refresh_from_db()
    return contact


# --- The reply queue keeps the conversation the texter is on ---------------------------------------


def test_a_refresh_shows_the_conversation_the_texter_was_on_even_after_a_new_reply(
    client: Client, texter: User, assignment: Assignment
) -> None:
    older = needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment, first_name="Older"))
    newer = needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment, first_name="Newer"))
    client.force_login(texter)
    url = reverse("texter:replies", args=[assignment.pk])
    assert client.get(url).context["convo"].contact == older
    # The texter is on Newer (the page keeps ?contact= in its address) and Older writes again.
    needs_response(older, reply="Me again")
    assert client.get(url, {"contact": newer.pk}).context["convo"].contact == newer
    # Once answered it leaves the queue, and the pin falls back to the oldest.
    Contact.objects.filter(pk=newer.pk).update(status=ContactStatus.CONVO)
    assert client.get(url, {"contact": newer.pk}).context["convo"].contact == older


def test_the_pin_never_shows_someone_elses_contact(
    client: Client, texter: User, other_texter: User, assignment: Assignment
) -> None:
    theirs = needs_response(
        ContactFactory(
            campaign=assignment.campaign,
            assignment=AssignmentFactory(campaign=assignment.campaign, texter=other_texter),
        )
    )
    client.force_login(texter)
    response = client.get(reverse("texter:replies", args=[assignment.pk]), {"contact": theirs.pk})
    assert response.context["convo"] is None
    assert theirs.first_name not in response.content.decode()


def test_the_pinned_replies_screen_runs_a_fixed_number_of_statements(
    client: Client, texter: User, assignment: Assignment, assert_statements: Callable[..., Any]
) -> None:
    contacts = [needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment)) for _ in range(2)]
    client.force_login(texter)
    url = reverse("texter:replies", args=[assignment.pk])
    # user, assignment, timezones, pinned contact, messages, steps, answers, canned, tags
    with assert_statements(9):
        client.get(url, {"contact": contacts[1].pk})
    for _ in range(6):
        needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/Denver"))
    with assert_statements(9):
        response = client.get(url, {"contact": contacts[1].pk})
    assert response.context["convo"].contact == contacts[1]


# --- Past and skipped, with search ------------------------------------------------------------------


def test_past_and_skipped_lists_split_by_status_and_search_by_name(
    client: Client, texter: User, assignment: Assignment
) -> None:
    campaign = assignment.campaign
    maria = ContactFactory(campaign=campaign, assignment=assignment, first_name="Maria", last_name="Lopez")
    james = ContactFactory(campaign=campaign, assignment=assignment, first_name="James", last_name="Lopez")
    Contact.objects.filter(pk__in=[maria.pk, james.pk]).update(status=ContactStatus.CONVO)
    skipped = ContactFactory(
        campaign=campaign, assignment=assignment, first_name="Aisha", last_name="Khan", status=ContactStatus.CLOSED
    )
    ContactFactory(campaign=campaign, assignment=assignment, first_name="Unsent")
    client.force_login(texter)
    past_url = reverse("texter:past", args=[assignment.pk])
    skipped_url = reverse("texter:skipped", args=[assignment.pk])
    assert set(client.get(past_url).context["contacts"]) == {maria, james}
    assert list(client.get(skipped_url).context["contacts"]) == [skipped]
    assert list(client.get(past_url, {"q": "maria lop"}).context["contacts"]) == [maria]
    assert set(client.get(past_url, {"q": "LOPEZ"}).context["contacts"]) == {maria, james}
    assert list(client.get(skipped_url, {"q": "maria"}).context["contacts"]) == []
    html = client.get(past_url, {"q": "nobody"}).content.decode()
    assert "Nobody named “nobody” here" in html


def test_the_lists_run_a_fixed_number_of_statements(
    client: Client, texter: User, assignment: Assignment, assert_statements: Callable[..., Any]
) -> None:
    client.force_login(texter)
    ContactFactory.create_batch(3, campaign=assignment.campaign, assignment=assignment, status=ContactStatus.CONVO)
    for name in ("texter:past", "texter:skipped"):
        with assert_statements(3):  # user, assignment, the page of contacts (the session is cached)
            client.get(reverse(name, args=[assignment.pk]), {"q": "a"})
    ContactFactory.create_batch(30, campaign=assignment.campaign, assignment=assignment, status=ContactStatus.CLOSED)
    for name in ("texter:past", "texter:skipped"):
        with assert_statements(3):
            client.get(reverse(name, args=[assignment.pk]), {"q": "a"})


# --- Contact panel --------------------------------------------------------------------------------


def test_the_contact_panel_shows_the_fields_the_campaign_exposes(
    client: Client, texter: User, assignment: Assignment
) -> None:
    ContactFactory(
        campaign=assignment.campaign,
        assignment=assignment,
        timezone="America/Chicago",
        custom_fields={"favorite_color": "green", "van_id": "123456", "precinct": "12"},
    )
    client.force_login(texter)
    url = reverse("texter:send", args=[assignment.pk])
    with time_machine.travel(NY_NOON, tick=False):
        html = client.get(url).content.decode()
    assert "11:00 am" in html  # noon in New York is 11 in Chicago
    assert "<dt>Favorite color</dt><dd>green</dd>" in html
    assert "<dt>Van id</dt><dd>123456</dd>" in html
    Campaign.objects.filter(pk=assignment.campaign_id).update(texter_visible_fields=["precinct", "favorite_color"])
    html = client.get(url).content.decode()
    assert html.index("<dt>Precinct</dt>") < html.index("<dt>Favorite color</dt>")
    assert "123456" not in html


# --- Counts re-check the contact on screen ---------------------------------------------------------


def test_counts_say_whether_the_contact_on_screen_is_still_the_texters(
    client: Client, texter: User, other_texter: User, assignment: Assignment, contact: Contact
) -> None:
    client.force_login(texter)
    url = reverse("texter:counts", args=[assignment.pk])
    assert "contact_state" not in client.get(url).json()
    assert client.get(url, {"contact": contact.pk}).json()["contact_state"] == "ok"
    Contact.objects.filter(pk=contact.pk).update(is_opted_out=True)
    assert client.get(url, {"contact": contact.pk}).json()["contact_state"] == "opted_out"
    other = AssignmentFactory(campaign=assignment.campaign, texter=other_texter)
    Contact.objects.filter(pk=contact.pk).update(assignment=other, is_opted_out=False)
    assert client.get(url, {"contact": contact.pk}).json()["contact_state"] == "gone"


# --- Dynamic assignment -----------------------------------------------------------------------------


@pytest.fixture
def dynamic(organization: Organization) -> Campaign:
    campaign = CampaignFactory.create(
        organization=organization, title="Rapid response", use_dynamic_assignment=True, batch_size=2
    )
    ContactFactory.create_batch(3, campaign=campaign)
    return campaign


def test_the_join_link_explains_then_joins(client: Client, texter: User, dynamic: Campaign) -> None:
    client.force_login(texter)
    url = reverse("texter:join", args=[dynamic.join_token])
    html = client.get(url).content.decode()
    assert "Join Rapid response" in html and "batches of 2" in html
    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("texter:todos")
    assignment = Assignment.objects.get(campaign=dynamic, texter=texter)
    todos = client.get(reverse("texter:todos")).content.decode()
    assert "You joined Rapid response" in todos
    assert reverse("texter:request_more", args=[assignment.pk]) in todos
    assert "Ask for a batch of contacts" in todos


def test_the_join_link_tells_an_outsider_what_to_do(client: Client, outsider: User, dynamic: Campaign) -> None:
    client.force_login(outsider)
    url = reverse("texter:join", args=[dynamic.join_token])
    response = client.get(url)
    assert response.status_code == 403
    assert "Ask an organizer to invite you" in response.content.decode()
    assert client.post(url).status_code == 403
    assert not Assignment.objects.filter(texter=outsider).exists()


def test_an_unknown_join_link_is_404_and_anonymous_visitors_log_in_first(
    client: Client, texter: User, dynamic: Campaign
) -> None:
    url = reverse("texter:join", args=[dynamic.join_token])
    assert client.get(url).url.startswith(reverse("login"))
    client.force_login(texter)
    assert client.get(reverse("texter:join", args=["00000000-0000-4000-8000-000000000000"])).status_code == 404
    assert client.put(url).status_code == 405


def test_request_more_answers_json_for_the_page_and_redirects_a_form(
    client: Client, texter: User, dynamic: Campaign
) -> None:
    assignment = AssignmentFactory(campaign=dynamic, texter=texter)
    client.force_login(texter)
    url = reverse("texter:request_more", args=[assignment.pk])
    response = client.post(url, HTTP_ACCEPT="application/json")
    assert response.json() == {"added": 2, "message": "You have 2 more contacts to text."}
    response = client.post(url, {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("texter:send", args=[assignment.pk])
    assert Contact.objects.filter(assignment=assignment).count() == 3
    response = client.post(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "pool_empty"
    response = client.post(url, {"next": reverse("texter:todos")}, follow=True)
    assert "There are no more contacts to text" in response.content.decode()


def test_the_send_screen_offers_more_when_all_are_sent(client: Client, texter: User, dynamic: Campaign) -> None:
    assignment = AssignmentFactory(campaign=dynamic, texter=texter)
    client.force_login(texter)
    html = client.get(reverse("texter:send", args=[assignment.pk])).content.decode()
    assert "All sent" in html
    assert "Request 2 more" in html


def test_done_for_today_hands_contacts_back(client: Client, texter: User, dynamic: Campaign) -> None:
    assignment = AssignmentFactory(campaign=dynamic, texter=texter)
    Contact.objects.filter(campaign=dynamic).update(assignment=assignment)
    waiting = Contact.objects.filter(campaign=dynamic).first()
    assert waiting is not None
    Contact.objects.filter(pk=waiting.pk).update(status=ContactStatus.NEEDS_RESPONSE)
    client.force_login(texter)
    url = reverse("texter:done_for_today", args=[assignment.pk])
    response = client.post(url, follow=True)
    assert "2 contacts went back for other texters" in response.content.decode()
    assert list(Contact.objects.filter(assignment=assignment)) == [waiting]
    assert client.post(url, {"include_replies": "1"}, HTTP_ACCEPT="application/json").json()["released"] == 1
    assert client.get(url).status_code == 405


def test_dynamic_actions_on_someone_elses_assignment_are_404(
    client: Client, other_texter: User, texter: User, dynamic: Campaign
) -> None:
    assignment = AssignmentFactory(campaign=dynamic, texter=texter)
    client.force_login(other_texter)
    for name in ("texter:request_more", "texter:done_for_today", "texter:skipped"):
        method = client.get if name == "texter:skipped" else client.post
        assert method(reverse(name, args=[assignment.pk])).status_code == 404
    assert not Contact.objects.filter(assignment__isnull=False).exists()


def test_request_more_view_runs_a_fixed_number_of_statements(
    client: Client, texter: User, dynamic: Campaign, assert_statements: Callable[..., Any]
) -> None:
    assignment = AssignmentFactory(campaign=dynamic, texter=texter)
    client.force_login(texter)
    url = reverse("texter:request_more", args=[assignment.pk])
    # user, assignment; campaign, one claim (the session is cached; open timezones come from the clock)
    with assert_statements(4):
        client.post(url, HTTP_ACCEPT="application/json")
    ContactFactory.create_batch(20, campaign=dynamic, timezone="America/Chicago")
    with assert_statements(4):
        assert json.loads(client.post(url, HTTP_ACCEPT="application/json").content)["added"] == 2


def test_joining_before_the_start_says_when_the_campaign_shows_up(
    client: Client, texter: User, dynamic: Campaign
) -> None:
    Campaign.objects.filter(pk=dynamic.pk).update(is_started=False)
    client.force_login(texter)
    response = client.post(reverse("texter:join", args=[dynamic.join_token]), follow=True)
    assert "It shows up here when the organizers start it" in response.content.decode()
    assert Assignment.objects.filter(campaign=dynamic, texter=texter).exists()
