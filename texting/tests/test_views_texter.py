from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Role, User
from campaigns.models import (
    Assignment,
    Campaign,
    Contact,
    ContactStatus,
    ContactTag,
    InteractionStep,
    OptOut,
    QuestionResponse,
)
from spoke.testing import (
    PASSWORD,
    AssignmentFactory,
    CampaignFactory,
    ContactFactory,
    InteractionStepFactory,
    MessageFactory,
    TagFactory,
)
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db

# 23:00 in New York (outside 9-21), 20:00 in Los Angeles (inside), on a summer day.
NY_NIGHT = dt.datetime(2024, 6, 2, 3, 0, tzinfo=dt.UTC)
# 12:00 in New York.
NY_NOON = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)


def post_json(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def assignment_urls(assignment: Assignment) -> list[str]:
    return [
        reverse("texter:send", args=[assignment.pk]),
        reverse("texter:send_next", args=[assignment.pk]),
        reverse("texter:replies", args=[assignment.pk]),
        reverse("texter:replies_next", args=[assignment.pk]),
        reverse("texter:counts", args=[assignment.pk]),
        reverse("texter:past", args=[assignment.pk]),
    ]


def contact_page_urls(contact: Contact) -> list[str]:
    return [reverse("texter:conversation", args=[contact.pk]), reverse("texter:thread", args=[contact.pk])]


ACTIONS = ["contact_send", "contact_answer", "contact_optout", "contact_skip", "contact_tags"]


def needs_response(contact: Contact, reply: str = "Yes, count me in") -> Contact:
    MessageFactory(contact=contact, body="Hi there", status=MessageStatus.DELIVERED)
    MessageFactory(contact=contact, body=reply, direction=Direction.INBOUND, status=MessageStatus.RECEIVED)
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.NEEDS_RESPONSE)
    contact.refresh_from_db()
    return contact


# --- Access --------------------------------------------------------------------------------------


def test_every_page_sends_anonymous_visitors_to_log_in(
    client: Client, assignment: Assignment, contact: Contact
) -> None:
    for url in [reverse("texter:todos"), reverse("texter:todo_cards"), *assignment_urls(assignment)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/accounts/login/?next={url}"
    for name in ACTIONS:
        url = reverse(f"texter:{name}", args=[contact.pk])
        assert client.post(url).status_code == 302
    assert not Message.objects.exists()


def test_owning_texter_gets_every_page(client: Client, texter: User, assignment: Assignment, contact: Contact) -> None:
    client.force_login(texter)
    needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment))
    for url in [reverse("texter:todos"), *assignment_urls(assignment), *contact_page_urls(contact)]:
        assert client.get(url).status_code == 200, url


def test_login_page_logs_in_by_email_and_goes_back_to_the_texter_page(
    client: Client, texter: User, assignment: Assignment
) -> None:
    page = client.get("/accounts/login/?next=/texter/").content.decode()
    assert '<label for="id_username">Email</label>' in page
    assert '<label for="id_password">Password</label>' in page
    wrong = client.post("/accounts/login/", {"username": "texter@example.com", "password": "nope", "next": "/texter/"})
    assert 'role="alert"' in wrong.content.decode()
    response = client.post(
        "/accounts/login/", {"username": "texter@example.com", "password": PASSWORD, "next": "/texter/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/texter/"
    assert b"Get out the vote" in client.get("/texter/").content


@pytest.mark.parametrize("persona", ["other_texter", "outsider"])
def test_someone_elses_assignment_and_contact_answer_404(
    client: Client, persona: str, request: pytest.FixtureRequest, assignment: Assignment, contact: Contact
) -> None:
    client.force_login(request.getfixturevalue(persona))
    for url in [*assignment_urls(assignment), *contact_page_urls(contact)]:
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("persona", ["other_texter", "outsider", "owner"])
def test_actions_on_someone_elses_contact_answer_404_and_change_nothing(
    client: Client, persona: str, request: pytest.FixtureRequest, contact: Contact, root_step: InteractionStep
) -> None:
    client.force_login(request.getfixturevalue(persona))
    answer = root_step.children.first()
    assert answer is not None
    payloads = {
        "contact_send": {"body": "hi", "send_key": str(uuid.uuid4())},
        "contact_answer": {"step_id": answer.pk},
        "contact_optout": {"send_message": 1},
        "contact_skip": {},
        "contact_tags": {"tag_ids": []},
    }
    for name, payload in payloads.items():
        response = post_json(client, reverse(f"texter:{name}", args=[contact.pk]), payload)
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_assigned"
    contact.refresh_from_db()
    assert contact.status == ContactStatus.NEEDS_MESSAGE
    assert not Message.objects.exists()
    assert not OptOut.objects.exists()
    assert not QuestionResponse.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_answer_405_to_get(client: Client, texter: User, contact: Contact, name: str) -> None:
    client.force_login(texter)
    assert client.get(reverse(f"texter:{name}", args=[contact.pk])).status_code == 405


def test_suspended_member_sees_nothing_of_the_organization(
    client: Client, texter: User, assignment: Assignment, contact: Contact
) -> None:
    Membership.objects.filter(user=texter).update(role=Role.SUSPENDED)
    client.force_login(texter)
    todos = client.get(reverse("texter:todos"))
    assert todos.status_code == 200
    assert b"Get out the vote" not in todos.content
    assert b"Vote Forward" not in todos.content
    for url in [*assignment_urls(assignment), *contact_page_urls(contact)]:
        assert client.get(url).status_code == 404, url
    response = post_json(client, reverse("texter:contact_send", args=[contact.pk]), {"body": "hi"})
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_archived_and_unstarted_campaigns_are_not_on_the_todo_list(
    client: Client, texter: User, assignment: Assignment, organization: Any
) -> None:
    Campaign.objects.filter(pk=assignment.campaign_id).update(is_archived=True)
    AssignmentFactory(
        texter=texter, campaign=CampaignFactory(organization=organization, title="Not yet", is_started=False)
    )
    client.force_login(texter)
    content = client.get(reverse("texter:todos")).content
    assert b"Get out the vote" not in content
    assert b"Not yet" not in content
    assert b"No campaigns to text yet" in content
    assert client.get(reverse("texter:send", args=[assignment.pk])).status_code == 404


def test_organizer_without_assignments_sees_an_empty_list_with_the_back_office_link(
    client: Client, owner: User, assignment: Assignment
) -> None:
    client.force_login(owner)
    response = client.get(reverse("texter:todos"))
    assert response.status_code == 200
    assert b"No campaigns to text yet" in response.content
    assert b'href="/admin/"' in response.content
    assert "Spoke</a> · <span>Vote Forward</span>" in response.content.decode()


def test_texters_do_not_get_the_back_office_link(client: Client, texter: User, assignment: Assignment) -> None:
    client.force_login(texter)
    content = client.get(reverse("texter:todos")).content
    assert b'href="/admin/"' not in content
    assert b'action="/accounts/logout/"' in content
    assert b"Ada Lovelace" in content


# --- Todo list -------------------------------------------------------------------------------------


def make_counted_assignment(assignment: Assignment) -> None:
    campaign = assignment.campaign
    for tz in ["America/New_York"] * 3 + ["America/Los_Angeles"] * 2:
        ContactFactory(campaign=campaign, assignment=assignment, timezone=tz)
    ContactFactory(campaign=campaign, assignment=assignment, is_opted_out=True)
    ContactFactory.create_batch(2, campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
    ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.MESSAGED)
    ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.CONVO)
    ContactFactory.create_batch(2, campaign=campaign, assignment=assignment, status=ContactStatus.CLOSED)
    ContactFactory(campaign=campaign, assignment=None)  # unassigned: counts for nobody


def test_todo_counts_what_there_is_to_do(client: Client, texter: User, assignment: Assignment) -> None:
    make_counted_assignment(assignment)
    organization = assignment.campaign.organization
    organization.texting_hours_enforced = True
    organization.save()
    client.force_login(texter)
    with time_machine.travel(NY_NIGHT, tick=False):
        response = client.get(reverse("texter:todos"))
        counts = client.get(reverse("texter:counts", args=[assignment.pk])).json()
    card = response.context["todos"].cards[0]
    assert card.counts.as_dict().items() <= counts.items()
    assert counts["to_send"] == 5
    assert counts["sendable"] == 2
    assert (counts["needs_response"], counts["past"], counts["closed"]) == (2, 2, 2)
    assert counts["outside_hours"] == 3  # the New York contacts, at 11 pm their time
    assert counts["replies_outside_hours"] == 2
    html = response.content.decode()
    assert 'data-count="to_send">5<' in html
    assert 'data-count="needs_response">2<' in html
    assert '<span data-count="outside_hours">3</span> outside texting hours now' in html


def test_todo_card_shows_campaign_details_and_buttons(client: Client, texter: User, assignment: Assignment) -> None:
    Campaign.objects.filter(pk=assignment.campaign_id).update(
        due_by=dt.date(2024, 11, 30), logo_image_url="https://example.org/logo.png", primary_color="#ffee00"
    )
    ContactFactory(campaign=assignment.campaign, assignment=assignment)
    client.force_login(texter)
    html = client.get(reverse("texter:todos")).content.decode()
    assert 'due <time datetime="2024-11-30">Nov 30</time>' in html
    assert 'src="https://example.org/logo.png"' in html
    assert reverse("texter:send", args=[assignment.pk]) in html
    assert reverse("texter:replies", args=[assignment.pk]) not in html  # nothing to respond to
    assert 'data-style-accent="#ffee00"' in html


def test_campaign_with_nothing_to_do_says_so(client: Client, texter: User, assignment: Assignment) -> None:
    ContactFactory(campaign=assignment.campaign, assignment=assignment, status=ContactStatus.CONVO)
    client.force_login(texter)
    html = client.get(reverse("texter:todos")).content.decode()
    assert "Nothing to do here right now" in html
    assert "Send first messages" not in html


def test_intro_html_is_sanitized(client: Client, texter: User, assignment: Assignment) -> None:
    Campaign.objects.filter(pk=assignment.campaign_id).update(
        intro_html='<p>Be <strong>kind</strong></p><script>alert("x")</script><img src=x onerror="alert(2)">'
    )
    client.force_login(texter)
    html = client.get(reverse("texter:todos")).content.decode()
    assert "<p>Be <strong>kind</strong></p>" in html
    assert "<script>alert" not in html
    assert "onerror" not in html


def test_todo_list_runs_a_fixed_number_of_statements(
    client: Client, texter: User, organization: Any, assignment: Assignment, assert_statements: Callable[..., Any]
) -> None:
    client.force_login(texter)
    ContactFactory(campaign=assignment.campaign, assignment=assignment)
    # user, memberships, assignments, grouped counts (the session comes from the cache)
    with assert_statements(4):
        assert client.get(reverse("texter:todos")).status_code == 200
    for _ in range(3):
        other = AssignmentFactory(texter=texter, campaign=CampaignFactory(organization=organization))
        for tz in ["America/Chicago", "America/Denver", "", "Pacific/Honolulu"]:
            ContactFactory.create_batch(3, campaign=other.campaign, assignment=other, timezone=tz)
        ContactFactory(campaign=other.campaign, assignment=other, status=ContactStatus.NEEDS_RESPONSE)
    with assert_statements(4):
        response = client.get(reverse("texter:todos"))
    assert len(response.context["todos"].cards) == 4


# --- Send first messages -----------------------------------------------------------------------------


def test_send_screen_shows_the_first_contact_with_the_script_filled_in(
    client: Client, texter: User, assignment: Assignment, contact: Contact
) -> None:
    Contact.objects.filter(pk=contact.pk).update(custom_fields={"favorite_color": "green"}, zip="60614")
    ContactFactory.create_batch(2, campaign=assignment.campaign, assignment=assignment)
    client.force_login(texter)
    with time_machine.travel(NY_NOON, tick=False):
        html = client.get(reverse("texter:send", args=[assignment.pk])).content.decode()
    assert "<span data-position>1</span> of <span data-total>3</span>" in html
    assert "Hi Maria, this is Ada with Vote Forward. Can we count on your vote?</textarea>" in html
    assert "readonly" in html
    assert "12:00 pm</span> their time" in html
    assert "<dt>Favorite color</dt><dd>green</dd>" in html
    assert "<dt>Zip</dt><dd>60614</dd>" in html


def test_first_message_is_editable_when_the_campaign_allows_it(
    client: Client, texter: User, assignment: Assignment, contact: Contact
) -> None:
    Campaign.objects.filter(pk=assignment.campaign_id).update(texters_can_edit_first_message=True)
    client.force_login(texter)
    html = client.get(reverse("texter:send", args=[assignment.pk])).content.decode()
    assert "readonly" not in html


def test_contact_name_is_escaped_on_the_send_screen(client: Client, texter: User, assignment: Assignment) -> None:
    ContactFactory(campaign=assignment.campaign, assignment=assignment, first_name="<script>alert(1)</script>")
    client.force_login(texter)
    html = client.get(reverse("texter:send", args=[assignment.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_send_queue_holds_only_contacts_inside_texting_hours(
    client: Client, texter: User, assignment: Assignment
) -> None:
    organization = assignment.campaign.organization
    organization.texting_hours_enforced = True
    organization.save()
    ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/New_York")
    la = ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/Los_Angeles")
    client.force_login(texter)
    with time_machine.travel(NY_NIGHT, tick=False):
        response = client.get(reverse("texter:send", args=[assignment.pk]))
        item = response.context["item"]
        assert item.contact == la
        assert (item.sendable, item.outside_hours) == (1, 1)
        done = client.get(reverse("texter:send_next", args=[assignment.pk]), {"after": la.pk})
    assert done.context["item"].contact is None
    assert "Nothing more to send right now" in done.content.decode()
    assert "1 contact is outside texting hours now" in done.content.decode()


def test_send_next_moves_through_the_queue_and_wraps_round(
    client: Client, texter: User, assignment: Assignment
) -> None:
    first, second, third = ContactFactory.create_batch(3, campaign=assignment.campaign, assignment=assignment)
    url = reverse("texter:send_next", args=[assignment.pk])
    client.force_login(texter)
    assert client.get(url, {"after": first.pk}).context["item"].contact == second
    assert client.get(url, {"after": third.pk}).context["item"].contact == first
    assert client.get(url, {"before": second.pk}).context["item"].contact == first
    assert client.get(url, {"before": first.pk}).context["item"].contact == third
    html = client.get(url, {"after": first.pk}).content.decode()
    assert html.lstrip().startswith('<div class="workspace" data-item data-state="contact"')


def test_send_queue_ends_with_all_sent(client: Client, texter: User, assignment: Assignment, contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    client.force_login(texter)
    html = client.get(reverse("texter:send", args=[assignment.pk])).content.decode()
    assert "All sent!" in html
    assert 'href="/texter/"' in html


def test_send_screen_runs_a_fixed_number_of_statements(
    client: Client, texter: User, assignment: Assignment, contact: Contact, assert_statements: Callable[..., Any]
) -> None:
    client.force_login(texter)
    url = reverse("texter:send", args=[assignment.pk])
    with assert_statements(4):  # user, assignment + script, timezones, contact (the session is cached)
        client.get(url)
    for tz in ["America/Chicago", "America/Denver", "", "Pacific/Honolulu"]:
        ContactFactory.create_batch(10, campaign=assignment.campaign, assignment=assignment, timezone=tz)
    with assert_statements(4):
        response = client.get(url)
    assert response.context["item"].sendable == 41
    with assert_statements(4):
        client.get(reverse("texter:send_next", args=[assignment.pk]), {"after": contact.pk})


# --- Send action -----------------------------------------------------------------------------------


def test_send_queues_the_message_and_moves_the_contact_on(
    client: Client, texter: User, contact: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(texter)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            client, reverse("texter:contact_send", args=[contact.pk]), {"body": "edited", "send_key": str(uuid.uuid4())}
        )
    assert response.status_code == 200
    data = response.json()
    assert data["contact_status"] == ContactStatus.MESSAGED
    assert data["message"]["body"] == "Hi Maria, this is Ada with Vote Forward. Can we count on your vote?"
    message = Message.objects.get(contact=contact)
    assert message.status == MessageStatus.DELIVERED  # the fake provider ran after commit
    contact.refresh_from_db()
    assert contact.status == ContactStatus.MESSAGED


def test_send_request_costs_four_statements_with_authentication_however_big_the_campaign(
    client: Client,
    texter: User,
    assignment: Assignment,
    contact: Contact,
    assert_statements: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The design's budget for the whole send request: the user (authentication), then the
    service's lock, insert and update. The session comes from the cache (cached_db sessions), so
    no statement reads it once the texter's page has loaded."""
    client.force_login(texter)
    assert client.get(reverse("texter:send", args=[assignment.pk])).status_code == 200  # a warm session
    second = ContactFactory(campaign=assignment.campaign, assignment=assignment)
    with django_capture_on_commit_callbacks(execute=False), assert_statements(4) as captured:
        response = post_json(client, reverse("texter:contact_send", args=[contact.pk]), {"send_key": str(uuid.uuid4())})
    assert response.status_code == 200
    assert not [q for q in captured.captured_queries if "django_session" in q["sql"]]
    ContactFactory.create_batch(40, campaign=assignment.campaign, assignment=assignment)
    with django_capture_on_commit_callbacks(execute=False), assert_statements(4):
        response = post_json(client, reverse("texter:contact_send", args=[second.pk]), {"send_key": str(uuid.uuid4())})
    assert response.status_code == 200
    assert Message.objects.count() == 2


def test_sending_twice_with_the_same_key_answers_409_duplicate(client: Client, texter: User, contact: Contact) -> None:
    client.force_login(texter)
    url = reverse("texter:contact_send", args=[contact.pk])
    payload = {"body": "", "send_key": str(uuid.uuid4())}
    assert post_json(client, url, payload).status_code == 200
    again = post_json(client, url, payload)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert Message.objects.filter(contact=contact).count() == 1


def test_send_accepts_a_form_post_too(client: Client, texter: User, contact: Contact) -> None:
    client.force_login(texter)
    response = client.post(reverse("texter:contact_send", args=[contact.pk]), {"body": "x", "send_key": uuid.uuid4()})
    assert response.status_code == 200
    assert Message.objects.filter(contact=contact).exists()


def test_a_bad_send_key_is_refused(client: Client, texter: User, contact: Contact) -> None:
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_send", args=[contact.pk]), {"body": "x", "send_key": "nope"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert not Message.objects.exists()


def test_sending_to_an_opted_out_contact_is_refused_in_the_texters_words(
    client: Client, texter: User, contact: Contact
) -> None:
    Contact.objects.filter(pk=contact.pk).update(is_opted_out=True)
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_send", args=[contact.pk]), {"body": "hi"})
    assert response.status_code == 409
    assert response.json() == {"error": "This contact opted out — moving on.", "code": "opted_out"}
    assert not Message.objects.exists()


def test_sending_outside_texting_hours_is_refused(client: Client, texter: User, contact: Contact) -> None:
    organization = contact.campaign.organization
    organization.texting_hours_enforced = True
    organization.save()
    client.force_login(texter)
    with time_machine.travel(NY_NIGHT, tick=False):
        response = post_json(client, reverse("texter:contact_send", args=[contact.pk]), {"body": "hi"})
    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "outside_hours"
    assert "9 am to 9 pm their time" in data["error"]
    assert not Message.objects.exists()


def test_sending_in_an_archived_campaign_says_why(client: Client, texter: User, contact: Contact) -> None:
    Campaign.objects.filter(pk=contact.campaign_id).update(is_archived=True)
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_send", args=[contact.pk]), {"body": "hi"})
    assert response.status_code == 409
    assert response.json()["code"] == "archived"


# --- Replies -----------------------------------------------------------------------------------------


def test_replies_queue_shows_the_oldest_conversation_with_its_thread_and_question(
    client: Client, texter: User, assignment: Assignment, contact: Contact
) -> None:
    older = needs_response(contact, reply="Yes <b>sure</b>")
    newer = needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment))
    Contact.objects.filter(pk=older.pk).update(updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    client.force_login(texter)
    response = client.get(reverse("texter:replies", args=[assignment.pk]))
    convo = response.context["convo"]
    assert convo.contact == older
    html = response.content.decode()
    assert "Yes &lt;b&gt;sure&lt;/b&gt;" in html
    assert "<span data-waiting>2</span> waiting" in html
    assert "<legend>Can we count on your vote?</legend>" in html
    assert "Where do I vote?" in html
    following = client.get(reverse("texter:replies_next", args=[assignment.pk]), {"after": convo.cursor})
    assert following.context["convo"].contact == newer
    back = client.get(
        reverse("texter:replies_next", args=[assignment.pk]), {"before": following.context["convo"].cursor}
    )
    assert back.context["convo"].contact == older


def test_replies_queue_ends_plainly(client: Client, texter: User, assignment: Assignment) -> None:
    client.force_login(texter)
    html = client.get(reverse("texter:replies", args=[assignment.pk])).content.decode()
    assert "No replies waiting" in html


def test_replies_screen_runs_a_fixed_number_of_statements(
    client: Client,
    texter: User,
    organization: Any,
    assignment: Assignment,
    contact: Contact,
    assert_statements: Callable[..., Any],
) -> None:
    needs_response(contact)
    client.force_login(texter)
    url = reverse("texter:replies", args=[assignment.pk])
    expected = 9  # user, assignment, timezones, contact, messages, steps, answers, canned, tags
    with assert_statements(expected):
        client.get(url)
    for _ in range(5):
        needs_response(ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/Denver"))
        MessageFactory(contact=contact, body="more", direction=Direction.INBOUND, status=MessageStatus.RECEIVED)
    TagFactory.create_batch(5, organization=organization)
    with assert_statements(expected):
        response = client.get(url)
    assert len(response.context["convo"].messages) == 7
    with assert_statements(7):  # the conversation page: user, contact, then the same five
        client.get(reverse("texter:conversation", args=[contact.pk]))


def test_conversation_page_shows_past_conversations(client: Client, texter: User, contact: Contact) -> None:
    MessageFactory(contact=contact, body="Hello Maria")
    MessageFactory(contact=contact, body="Not delivered one", status=MessageStatus.FAILED, error_code=30003)
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.CONVO)
    client.force_login(texter)
    past = client.get(reverse("texter:past", args=[contact.assignment_id])).content.decode()
    assert reverse("texter:conversation", args=[contact.pk]) in past
    html = client.get(reverse("texter:conversation", args=[contact.pk])).content.decode()
    assert "Hello Maria" in html
    assert "Not delivered:</strong> Unreachable handset" in html
    assert 'data-retry="Not delivered one"' in html


def test_answering_returns_the_rendered_script_and_records_the_answer(
    client: Client, texter: User, contact: Contact, root_step: InteractionStep
) -> None:
    yes = root_step.children.get(answer_option="Yes")
    no = root_step.children.get(answer_option="No")
    InteractionStep.objects.filter(pk=no.pk).update(script="Thanks anyway, {firstName}!")
    needs_response(contact)
    client.force_login(texter)
    url = reverse("texter:contact_answer", args=[contact.pk])
    data = post_json(client, url, {"step_id": yes.pk}).json()
    assert data["script"] == "Great! Do you need a ride to the polls?"
    assert data["step_id"] == yes.pk
    assert "<legend>Need a ride?</legend>" in data["survey_html"]
    assert QuestionResponse.objects.get(contact=contact).value == "Yes"

    changed = post_json(client, url, {"step_id": no.pk}).json()
    assert changed["script"] == "Thanks anyway, Maria!"
    assert list(QuestionResponse.objects.filter(contact=contact).values_list("value", flat=True)) == ["No"]
    assert "Need a ride?" not in changed["survey_html"]


def test_answering_with_a_step_of_another_campaign_is_refused(
    client: Client, texter: User, contact: Contact, organization: Any
) -> None:
    foreign = InteractionStepFactory(campaign=CampaignFactory(organization=organization))
    child = InteractionStepFactory(campaign=foreign.campaign, parent=foreign, answer_option="Yes")
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_answer", args=[contact.pk]), {"step_id": child.pk})
    assert response.status_code == 404
    assert not QuestionResponse.objects.exists()


def test_opt_out_without_the_message(client: Client, texter: User, contact: Contact) -> None:
    needs_response(contact)
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_optout", args=[contact.pk]), {"send_message": 0})
    assert response.status_code == 200
    assert OptOut.objects.filter(cell=contact.cell, source="texter", created_by=texter).exists()
    contact.refresh_from_db()
    assert (contact.is_opted_out, contact.status) == (True, ContactStatus.CLOSED)
    assert not Message.objects.filter(is_opt_out_notice=True).exists()


def test_opt_out_with_the_organizations_message(client: Client, texter: User, contact: Contact) -> None:
    needs_response(contact)
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_optout", args=[contact.pk]), {"send_message": 1})
    assert response.status_code == 200
    notice = Message.objects.get(is_opt_out_notice=True)
    assert notice.body == contact.campaign.organization.opt_out_message
    assert notice.direction == Direction.OUTBOUND
    assert OptOut.objects.filter(cell=contact.cell).exists()


def test_skip_closes_the_conversation(client: Client, texter: User, contact: Contact) -> None:
    needs_response(contact)
    client.force_login(texter)
    response = post_json(client, reverse("texter:contact_skip", args=[contact.pk]))
    assert response.json() == {"contact_status": "closed"}
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CLOSED


def test_tags_are_set_to_the_chosen_ones(client: Client, texter: User, contact: Contact, organization: Any) -> None:
    ride, volunteer, _ = TagFactory.create_batch(3, organization=organization)
    foreign = TagFactory()
    client.force_login(texter)
    url = reverse("texter:contact_tags", args=[contact.pk])
    data = post_json(client, url, {"tag_ids": [ride.pk, volunteer.pk, foreign.pk]}).json()
    assert data == {"tag_ids": sorted([ride.pk, volunteer.pk])}
    post_json(client, url, {"tag_ids": [volunteer.pk]})
    assert list(ContactTag.objects.filter(contact=contact).values_list("tag_id", flat=True)) == [volunteer.pk]
    html = client.get(reverse("texter:conversation", args=[contact.pk])).content.decode()
    assert f'data-tag-id="{volunteer.pk}" aria-pressed="true"' in html
    assert f'data-tag-id="{ride.pk}" aria-pressed="false"' in html


def test_sending_a_reply_moves_the_conversation_out_of_the_queue(
    client: Client, texter: User, assignment: Assignment, contact: Contact
) -> None:
    needs_response(contact)
    client.force_login(texter)
    response = post_json(
        client, reverse("texter:contact_send", args=[contact.pk]), {"body": "Thanks!", "send_key": str(uuid.uuid4())}
    )
    assert response.json()["contact_status"] == ContactStatus.CONVO
    assert Message.objects.filter(contact=contact, body="Thanks!").exists()
    assert client.get(reverse("texter:replies", args=[assignment.pk])).context["convo"] is None


def test_thread_fragment_lists_the_messages(client: Client, texter: User, contact: Contact) -> None:
    needs_response(contact, reply="Where do I vote?")
    client.force_login(texter)
    html = client.get(reverse("texter:thread", args=[contact.pk])).content.decode()
    assert html.count('<li class="bubble') == 2
    assert "Where do I vote?" in html
