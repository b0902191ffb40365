"""The whole first loop through HTTP, as an organizer and two texters would run a small campaign."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization, Role
from campaigns.models import Campaign, Contact, ContactStatus, InteractionStep, OptOut, QuestionResponse
from spoke.testing import PASSWORD, SPOKE_FIXTURES, MembershipFactory, UserFactory, admin_form_data
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db


def logged_in(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "the login page refused the demo credentials"
    return client


def post_json(client: Client, path: str, data: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json.dumps(data), content_type="application/json")
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    return body


def test_an_organizer_and_two_texters_run_a_small_campaign_end_to_end(
    django_capture_on_commit_callbacks: Any,
) -> None:
    organization = Organization.objects.create(name="Vote Forward", texting_hours_enforced=False)
    organizer = UserFactory(email="organizer@example.com", first_name="Olive", is_staff=True)
    MembershipFactory(user=organizer, organization=organization, role=Role.OWNER)
    texters = [UserFactory(email=f"texter{i}@example.com", first_name=name) for i, name in ((1, "Ada"), (2, "Grace"))]
    for texter in texters:
        MembershipFactory(user=texter, organization=organization, role=Role.TEXTER)

    # 1. The organizer creates a campaign with its first message and question in the back office.
    admin = logged_in("organizer@example.com")
    data = admin_form_data(admin.get("/admin/campaigns/campaign/add/"))
    data.update(
        title="Fall GOTV",
        first_message="Hi {firstName}, this is {texterFirstName}. Is {favorite_color} still your colour? autorespond",
        first_question="Will you vote?",
    )
    assert admin.post("/admin/campaigns/campaign/add/", data).status_code == 302
    campaign = Campaign.objects.get(title="Fall GOTV")
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    change_url = f"/admin/campaigns/campaign/{campaign.pk}/change/"

    # ... answers with their scripts and a canned response.
    data = admin_form_data(admin.get(change_url))
    data.update(
        {
            "interaction_steps-TOTAL_FORMS": 2,
            "interaction_steps-0-parent": root.pk,
            "interaction_steps-0-answer_option": "Yes",
            "interaction_steps-0-script": "Great, see you at the polls {firstName}!",
            "interaction_steps-0-position": 0,
            "interaction_steps-1-parent": root.pk,
            "interaction_steps-1-answer_option": "No",
            "interaction_steps-1-script": "Thanks anyway.",
            "interaction_steps-1-position": 1,
            "canned_responses-TOTAL_FORMS": 1,
            "canned_responses-0-title": "Where do I vote?",
            "canned_responses-0-text": "See vote.example.org",
            "canned_responses-0-position": 0,
        }
    )
    response = admin.post(change_url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert set(root.children.values_list("answer_option", flat=True)) == {"Yes", "No"}
    assert campaign.canned_responses.get().title == "Where do I vote?"

    # Starting now is refused, saying what is missing.
    refused = admin.post(f"/admin/campaigns/campaign/{campaign.pk}/start/", follow=True)
    assert "no contacts" in refused.content.decode()
    campaign.refresh_from_db()
    assert not campaign.is_started

    # 2. Upload a contact list in the original Spoke format, assign both texters, start.
    with django_capture_on_commit_callbacks(execute=True), (SPOKE_FIXTURES / "two-contacts.csv").open("rb") as csv_file:
        upload = admin.post(f"/admin/campaigns/campaign/{campaign.pk}/upload/", {"file": csv_file})
    assert upload.status_code == 302
    assert list(campaign.contacts.order_by("cell").values_list("cell", "custom_fields")) == [
        ("+12025550175", {"favorite_color": "green"}),
        ("+12025550176", {"favorite_color": "orange"}),
    ]
    assign_url = f"/admin/campaigns/campaign/{campaign.pk}/assign/"
    admin.post(assign_url, {"assign": "1", f"count_{texters[0].pk}": "1", f"count_{texters[1].pk}": "1"})
    admin.post(f"/admin/campaigns/campaign/{campaign.pk}/start/")
    campaign.refresh_from_db()
    assert campaign.is_started

    # 3. Each texter sees the campaign and sends their first message, script filled in.
    ada, grace = logged_in("texter1@example.com"), logged_in("texter2@example.com")
    assert "Fall GOTV" in ada.get("/texter/").content.decode()
    sent = {}
    for texter, client in zip(texters, (ada, grace), strict=True):
        contact = Contact.objects.get(assignment__texter=texter)
        page = client.get(f"/texter/assignments/{contact.assignment_id}/send/").content.decode()
        assert contact.first_name in page
        with django_capture_on_commit_callbacks(execute=True):
            body = post_json(
                client,
                f"/texter/contacts/{contact.pk}/send/",
                {"body": "", "send_key": str(uuid.uuid4()), "first_message": True},
            )
        sent[texter.first_name] = contact
        color = contact.custom_fields["favorite_color"]
        assert body["message"]["body"] == (
            f"Hi {contact.first_name}, this is {texter.first_name}. Is {color} still your colour? autorespond"
        )
    assert Message.objects.filter(direction=Direction.OUTBOUND, status=MessageStatus.DELIVERED).count() == 2

    # 4. The fake provider's contacts replied; the replies wait in the texters' queues.
    ada_contact = sent["Ada"]
    ada_contact.refresh_from_db()
    assert ada_contact.status == ContactStatus.NEEDS_RESPONSE
    replies_page = ada.get(f"/texter/assignments/{ada_contact.assignment_id}/replies/").content.decode()
    assert "automatic reply" in replies_page

    # Ada records "Yes", which fills in the answer's script, and sends it.
    yes = root.children.get(answer_option="Yes")
    answer = post_json(ada, f"/texter/contacts/{ada_contact.pk}/answer/", {"step_id": yes.pk})
    assert answer["script"] == f"Great, see you at the polls {ada_contact.first_name}!"
    with django_capture_on_commit_callbacks(execute=True):
        post_json(
            ada, f"/texter/contacts/{ada_contact.pk}/send/", {"body": answer["script"], "send_key": str(uuid.uuid4())}
        )
    ada_contact.refresh_from_db()
    assert ada_contact.status == ContactStatus.CONVO
    assert QuestionResponse.objects.get(contact=ada_contact).value == "Yes"

    # Grace opts her contact out, texting the organization's opt-out message.
    grace_contact = sent["Grace"]
    with django_capture_on_commit_callbacks(execute=True):
        post_json(grace, f"/texter/contacts/{grace_contact.pk}/optout/", {"send_message": 1})
    grace_contact.refresh_from_db()
    assert grace_contact.is_opted_out and grace_contact.status == ContactStatus.CLOSED
    notice = Message.objects.filter(contact=grace_contact, direction=Direction.OUTBOUND).latest("id")
    assert notice.body == organization.opt_out_message and notice.status == MessageStatus.DELIVERED
    refused_send = grace.post(
        f"/texter/contacts/{grace_contact.pk}/send/",
        json.dumps({"body": "one more?", "send_key": str(uuid.uuid4())}),
        content_type="application/json",
    )
    assert refused_send.status_code == 409 and "opted out" in refused_send.json()["error"]

    # 5. The organizer sees the conversation, the survey result and the opt-out.
    thread = admin.get(f"/admin/campaigns/contact/{ada_contact.pk}/change/").content.decode()
    assert "automatic reply" in thread and f"see you at the polls {ada_contact.first_name}" in thread
    results = admin.get(f"/admin/campaigns/campaign/{campaign.pk}/results/")
    assert results.status_code == 200 and "Will you vote?" in results.content.decode()
    optouts = admin.get("/admin/campaigns/optout/").content.decode()
    assert grace_contact.cell in optouts
    assert OptOut.objects.get(organization=organization).source == "texter"
