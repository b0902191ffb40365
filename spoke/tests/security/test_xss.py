"""Cross-site scripting: names, custom fields and script text loaded through a CSV import reach
the texter app (pages, the HTML fragments its JavaScript inserts, the JSON it reads, live events)
and the back office only as text, never as markup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.importing import contacts_import_file
from campaigns.models import Campaign, Contact, InteractionStep, JobStatus
from campaigns.services import campaign_start, contacts_assign, script_add_answer, script_set_first_message
from spoke.testing import CampaignFactory, MessageFactory
from texting.models import Direction, MessageStatus
from texting.providers.base import InboundSMS
from texting.services import message_receive

pytestmark = pytest.mark.django_db

SCRIPT_TAG = "<script>alert('first')</script>"
IMG = '"><img src=x onerror=alert(2)>'
SVG = "<svg onload=alert(3)>"
SCRIPT_TEXT = "Hi {firstName} {pet}! <script>alert('script')</script>"
PAYLOADS = [SCRIPT_TAG, IMG, SVG, "<script>alert('script')</script>"]
ESCAPED = "&lt;script&gt;alert(&#x27;first&#x27;)&lt;/script&gt;"


@pytest.fixture
def hostile(organization: Organization, texter: User, tmp_path: Path) -> Campaign:
    campaign = CampaignFactory.create(organization=organization, title="Hostile", is_started=False, started_at=None)
    root = script_set_first_message(campaign=campaign, script=SCRIPT_TEXT, question=f"Q {SVG}?")
    script_add_answer(parent=root, answer_option=f"Yes {IMG}", script=f"Great {SCRIPT_TAG}")
    upload = tmp_path / "contacts.csv"
    upload.write_text(
        "firstName,lastName,cell,zip,pet\n"
        f'"{SCRIPT_TAG}","{IMG.replace(chr(34), chr(34) * 2)}",+12025550177,20001,"{SVG}"\n',
        encoding="utf-8",
    )
    job = contacts_import_file(campaign=campaign, path=upload)
    assert job.status == JobStatus.DONE and job.imported == 1, job.error
    contact = Contact.objects.get(campaign=campaign)
    assert contact.first_name == SCRIPT_TAG and contact.custom_fields == {"pet": SVG}
    contacts_assign(campaign=campaign, texter=texter, count=1)
    campaign_start(campaign=campaign)
    return campaign


def _assert_inert(html: str, where: str) -> None:
    for payload in PAYLOADS:
        assert payload not in html, f"{where} carries {payload!r} as markup"


def test_the_texter_app_shows_imported_names_fields_and_script_as_text(
    hostile: Campaign, texter: User, client: Client
) -> None:
    client.force_login(texter)
    assignment = hostile.assignments.get()
    contact = Contact.objects.get(campaign=hostile)
    pages = {
        "todos": reverse("texter:todos"),
        "cards": reverse("texter:todo_cards"),
        "send": reverse("texter:send", args=[assignment.pk]),
        "send next (fragment the page inserts)": reverse("texter:send_next", args=[assignment.pk]),
        "conversation": reverse("texter:conversation", args=[contact.pk]),
        "thread": reverse("texter:thread", args=[contact.pk]),
    }
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        _assert_inert(response.content.decode(), where)
    send_page = client.get(pages["send"]).content.decode()
    assert ESCAPED in send_page  # the name is there, as text
    # What the JavaScript reads as JSON: the payload is a string value, which the page puts in
    # place with textContent / value (never innerHTML), and the JSON is not served as HTML.
    counts = client.get(reverse("texter:counts", args=[assignment.pk]))
    assert counts["Content-Type"] == "application/json"
    answer = client.post(
        reverse("texter:contact_answer", args=[contact.pk]),
        json.dumps({"step_id": InteractionStep.objects.get(campaign=hostile, parent__isnull=False).pk}),
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    data = answer.json()
    assert data["script"] == f"Great {SCRIPT_TAG}"  # the organizer's text, for a textarea's value
    _assert_inert(data["survey_html"], "the survey fragment in the answer's JSON")


def test_live_events_carry_ids_and_counts_never_names_or_text(
    hostile: Campaign, texter: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    sent: list[dict[str, Any]] = []

    async def record(group: str, message: dict[str, Any]) -> None:
        sent.append(message)

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    contact = Contact.objects.get(campaign=hostile)
    MessageFactory(contact=contact, texter=texter, to_number=contact.cell, status=MessageStatus.DELIVERED)
    reply = InboundSMS(sid="SM" + "7" * 32, from_number=contact.cell, to_number="+15005550006", body=SCRIPT_TAG)
    with django_capture_on_commit_callbacks(execute=True):
        message_receive(inbound=reply)
    assert sent, "a reply publishes live events"
    dumped = json.dumps(sent)
    for payload in [*PAYLOADS, "alert"]:
        assert payload not in dumped


def test_the_back_office_shows_imported_names_fields_and_script_as_text(
    hostile: Campaign, owner: User, client: Client
) -> None:
    client.force_login(owner)
    contact = Contact.objects.get(campaign=hostile)
    MessageFactory(contact=contact, direction=Direction.INBOUND, body=SCRIPT_TAG, status=MessageStatus.RECEIVED)
    pages = {
        "contacts (review)": reverse("admin:campaigns_contact_changelist"),
        "conversation": reverse("admin:campaigns_contact_change", args=[contact.pk]),
        "campaign": reverse("admin:campaigns_campaign_change", args=[hostile.pk]),
        "script editor": reverse("admin:campaigns_campaign_script", args=[hostile.pk]),
        "results": reverse("admin:campaigns_campaign_results", args=[hostile.pk]),
        "messages": reverse("admin:texting_message_changelist"),
        "assign": reverse("admin:campaigns_campaign_assign", args=[hostile.pk]),
    }
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        _assert_inert(response.content.decode(), where)
