"""The REST API for campaigns, script, canned responses, contacts, assignments, opt-outs and tags:
each resource per role (owner, supervolunteer, texter) and organization (outsider)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from campaigns.models import (
    Assignment,
    Campaign,
    CannedResponse,
    Contact,
    ContactStatus,
    ImportJob,
    InteractionStep,
    JobStatus,
    OptOut,
    OptOutEvent,
    Tag,
)
from conftest import login
from spoke.testing import ContactFactory, TagFactory

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, data: object = None) -> object:
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def patch(client: Client, url: str, data: object) -> object:
    return client.patch(url, json.dumps(data), content_type="application/json")


# --- Organizations ---------------------------------------------------------------------------------


def test_organizations_lists_mine_with_my_role(
    owner_client: Client, organization: object, other_organization: object
) -> None:
    rows = owner_client.get("/api/v1/organizations/").json()["results"]
    assert [(row["name"], row["role"]) for row in rows] == [("Vote Forward", "owner")]


# --- Campaigns -------------------------------------------------------------------------------------


def test_owner_creates_and_edits_a_campaign(owner_client: Client, organization: object) -> None:
    response = post(owner_client, "/api/v1/campaigns/", {"organization": organization.pk, "title": "GOTV"})  # type: ignore[attr-defined]
    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    campaign_id = response.json()["id"]  # type: ignore[attr-defined]
    response = patch(
        owner_client, f"/api/v1/campaigns/{campaign_id}/", {"description": "Turnout", "texting_hours_start": 10}
    )
    assert response.status_code == 200  # type: ignore[attr-defined]
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.organization_id, campaign.description, campaign.texting_hours_start) == (
        organization.pk,
        "Turnout",
        10,
    )  # type: ignore[attr-defined]


def test_campaign_edit_is_validated_like_the_back_office(owner_client: Client, campaign: Campaign) -> None:
    response = patch(owner_client, f"/api/v1/campaigns/{campaign.pk}/", {"timezone": "Mars/Olympus"})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "timezone" in response.json()  # type: ignore[attr-defined]


def test_outsider_cannot_create_in_or_see_another_organization(
    outsider_client: Client, organization: object, campaign: Campaign
) -> None:
    response = post(outsider_client, "/api/v1/campaigns/", {"organization": organization.pk, "title": "Sneaky"})  # type: ignore[attr-defined]
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert patch(outsider_client, f"/api/v1/campaigns/{campaign.pk}/", {"title": "x"}).status_code == 404  # type: ignore[attr-defined]
    assert post(outsider_client, f"/api/v1/campaigns/{campaign.pk}/archive/").status_code == 404  # type: ignore[attr-defined]


def test_supervolunteer_reads_but_cannot_edit(client: Client, supervolunteer: User, campaign: Campaign) -> None:
    login(client, supervolunteer)
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200
    response = patch(client, f"/api/v1/campaigns/{campaign.pk}/", {"title": "x"})
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "admin" in response.json()["detail"]  # type: ignore[attr-defined]
    assert post(client, f"/api/v1/campaigns/{campaign.pk}/archive/").status_code == 403  # type: ignore[attr-defined]


def test_start_refuses_with_what_to_fix_then_starts(owner_client: Client, organization: object) -> None:
    campaign = Campaign.objects.create(organization=organization, title="New")  # type: ignore[misc]
    response = post(owner_client, f"/api/v1/campaigns/{campaign.pk}/start/")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert response.json()["code"] == "not_ready"  # type: ignore[attr-defined]
    assert "no contacts" in response.json()["detail"]  # type: ignore[attr-defined]
    InteractionStep.objects.create(campaign=campaign, script="Hi {firstName}")
    campaign.use_dynamic_assignment = True
    campaign.save()
    ContactFactory.create(campaign=campaign)
    response = post(owner_client, f"/api/v1/campaigns/{campaign.pk}/start/")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json()["is_started"] is True  # type: ignore[attr-defined]


def test_archive_and_unarchive(owner_client: Client, campaign: Campaign) -> None:
    assert post(owner_client, f"/api/v1/campaigns/{campaign.pk}/archive/").json()["is_archived"] is True  # type: ignore[attr-defined]
    assert post(owner_client, f"/api/v1/campaigns/{campaign.pk}/unarchive/").json()["is_archived"] is False  # type: ignore[attr-defined]
    campaign.refresh_from_db()
    assert campaign.is_archived is False


def test_copy_keeps_script_and_canned_responses_not_contacts(
    owner_client: Client, campaign: Campaign, contact: Contact
) -> None:
    response = post(owner_client, f"/api/v1/campaigns/{campaign.pk}/copy/", {"title": "GOTV again"})
    assert response.status_code == 201  # type: ignore[attr-defined]
    copy = Campaign.objects.get(pk=response.json()["id"])  # type: ignore[attr-defined]
    assert copy.title == "GOTV again" and not copy.is_started
    original_tree = sorted(
        (s.answer_option, s.script, s.parent.answer_option if s.parent else None)
        for s in campaign.interaction_steps.all()
    )
    copied_tree = sorted(
        (s.answer_option, s.script, s.parent.answer_option if s.parent else None) for s in copy.interaction_steps.all()
    )
    assert copied_tree == original_tree
    assert CannedResponse.objects.filter(campaign=copy).count() == 1
    assert not copy.contacts.exists() and not copy.assignments.exists()


def test_campaign_list_filters(owner_client: Client, campaign: Campaign) -> None:
    assert len(owner_client.get("/api/v1/campaigns/?is_archived=false").json()["results"]) == 1
    assert owner_client.get("/api/v1/campaigns/?is_archived=true").json()["results"] == []
    assert owner_client.get("/api/v1/campaigns/?is_archived=maybe").status_code == 400


def test_campaign_list_is_paginated(owner_client: Client, organization: object) -> None:
    for n in range(3):
        Campaign.objects.create(organization=organization, title=f"C{n}")  # type: ignore[misc]
    page = owner_client.get("/api/v1/campaigns/?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


# --- Script and canned responses ----------------------------------------------------------------


def test_script_steps_list_and_add_an_answer(
    owner_client: Client, campaign: Campaign, root_step: InteractionStep
) -> None:
    rows = owner_client.get(f"/api/v1/interaction-steps/?campaign={campaign.pk}").json()["results"]
    assert len(rows) == 4
    response = post(
        owner_client,
        "/api/v1/interaction-steps/",
        {"campaign": campaign.pk, "parent": root_step.pk, "answer_option": "Maybe", "script": "No worries"},
    )
    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    response = post(owner_client, "/api/v1/interaction-steps/", {"campaign": campaign.pk, "script": "Second root"})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "first message" in response.json()["parent"][0]  # type: ignore[attr-defined]


def test_step_with_a_foreign_campaign_or_parent_is_refused(
    outsider_client: Client, campaign: Campaign, root_step: InteractionStep
) -> None:
    response = post(outsider_client, "/api/v1/interaction-steps/", {"campaign": campaign.pk, "script": "x"})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert outsider_client.get(f"/api/v1/interaction-steps/{root_step.pk}/").status_code == 404


def test_canned_responses_crud(owner_client: Client, campaign: Campaign) -> None:
    response = post(
        owner_client, "/api/v1/canned-responses/", {"campaign": campaign.pk, "title": "Where", "text": "At school"}
    )
    assert response.status_code == 201  # type: ignore[attr-defined]
    response_id = response.json()["id"]  # type: ignore[attr-defined]
    assert (
        patch(owner_client, f"/api/v1/canned-responses/{response_id}/", {"text": "At the library"}).status_code == 200
    )  # type: ignore[attr-defined]
    assert CannedResponse.objects.get(pk=response_id).text == "At the library"
    assert owner_client.delete(f"/api/v1/canned-responses/{response_id}/").status_code == 204


# --- Contacts and imports -----------------------------------------------------------------------


def test_contacts_list_filters_and_get(owner_client: Client, contact: Contact) -> None:
    rows = owner_client.get(f"/api/v1/contacts/?campaign={contact.campaign_id}&status=needs_message").json()["results"]
    assert [row["id"] for row in rows] == [contact.pk]
    assert rows[0]["texter"] == contact.assignment.texter_id  # type: ignore[union-attr]
    assert owner_client.get("/api/v1/contacts/?status=bogus").status_code == 400
    assert owner_client.get(f"/api/v1/contacts/{contact.pk}/").json()["cell"] == contact.cell


def test_import_a_csv_upload_as_a_job(
    owner_client: Client, organization: object, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = Campaign.objects.create(organization=organization, title="Fresh")  # type: ignore[misc]
    upload = SimpleUploadedFile("list.csv", b"firstName,lastName,cell\nAda,L,2025550175\nBob,K,nope\n", "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/api/v1/contacts/import/", {"campaign": campaign.pk, "file": upload})
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    status = owner_client.get(f"/api/v1/import-jobs/{response.json()['id']}/").json()
    assert (status["status"], status["progress"], status["imported"], status["invalid_cell"]) == ("done", 100, 1, 1)


def test_import_a_json_list(
    owner_client: Client, organization: object, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = Campaign.objects.create(organization=organization, title="Fresh")  # type: ignore[misc]
    contacts = [
        {"firstName": "Ada", "lastName": "L", "cell": "+12025550175", "custom_fields": {"color": "green"}},
        {"firstName": "Bo", "lastName": "K", "cell": "2025550176", "zip": "60614"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(owner_client, "/api/v1/contacts/import/", {"campaign": campaign.pk, "contacts": contacts})
    assert response.status_code == 202, response.content  # type: ignore[attr-defined]
    assert ImportJob.objects.get(campaign=campaign).status == JobStatus.DONE
    ada = Contact.objects.get(campaign=campaign, first_name="Ada")
    assert ada.custom_fields == {"color": "green"}


def test_import_refuses_a_started_campaign_and_bad_input(owner_client: Client, campaign: Campaign) -> None:
    response = post(
        owner_client,
        "/api/v1/contacts/import/",
        {"campaign": campaign.pk, "contacts": [{"firstName": "A", "lastName": "B", "cell": "1"}]},
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "started" in response.json()["detail"]  # type: ignore[attr-defined]
    response = post(owner_client, "/api/v1/contacts/import/", {"campaign": campaign.pk})
    assert response.status_code == 400  # type: ignore[attr-defined]


def test_outsider_cannot_import_into_another_organization(outsider_client: Client, organization: object) -> None:
    campaign = Campaign.objects.create(organization=organization, title="Fresh")  # type: ignore[misc]
    response = post(
        outsider_client,
        "/api/v1/contacts/import/",
        {"campaign": campaign.pk, "contacts": [{"firstName": "A", "lastName": "B", "cell": "2025550175"}]},
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert not ImportJob.objects.exists()


# --- Assignments --------------------------------------------------------------------------------


def test_assign_split_reassign_and_unassign(
    owner_client: Client, organization: object, texter: User, other_texter: User
) -> None:
    campaign = Campaign.objects.create(organization=organization, title="Fresh")  # type: ignore[misc]
    contacts = ContactFactory.create_batch(4, campaign=campaign)
    response = post(
        owner_client, "/api/v1/assignments/assign/", {"campaign": campaign.pk, "texter": texter.pk, "count": 1}
    )
    assert response.json() == {"assigned": {str(texter.pk): 1}}  # type: ignore[attr-defined]
    response = post(
        owner_client,
        "/api/v1/assignments/split-evenly/",
        {"campaign": campaign.pk, "texters": [texter.pk, other_texter.pk]},
    )
    assert sum(response.json()["assigned"].values()) == 3  # type: ignore[attr-defined]
    rows = owner_client.get(f"/api/v1/assignments/?campaign={campaign.pk}").json()["results"]
    assert sorted(row["contacts"] for row in rows) == [1, 3]  # 1 + 2 of the 3 split, and 1
    response = post(
        owner_client,
        "/api/v1/assignments/reassign/",
        {"campaign": campaign.pk, "texter": other_texter.pk, "contacts": [c.pk for c in contacts]},
    )
    assert Contact.objects.filter(campaign=campaign, assignment__texter=other_texter).count() == 4
    mine = Assignment.objects.get(campaign=campaign, texter=other_texter)
    response = post(owner_client, f"/api/v1/assignments/{mine.pk}/unassign/")
    assert response.json() == {"assigned": {str(other_texter.pk): -4}}  # type: ignore[attr-defined]


def test_assign_refuses_a_non_member(owner_client: Client, campaign: Campaign, outsider: User) -> None:
    response = post(
        owner_client, "/api/v1/assignments/assign/", {"campaign": campaign.pk, "texter": outsider.pk, "count": 1}
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "not an active member" in response.json()["texter"][0]  # type: ignore[attr-defined]


def test_supervolunteer_may_assign(client: Client, supervolunteer: User, campaign: Campaign, texter: User) -> None:
    ContactFactory.create(campaign=campaign)
    login(client, supervolunteer)
    response = post(client, "/api/v1/assignments/assign/", {"campaign": campaign.pk, "texter": texter.pk, "count": 5})
    assert response.status_code == 200  # type: ignore[attr-defined]


# --- Opt-outs and tags ----------------------------------------------------------------------------


def test_optouts_add_list_and_remove_with_audit_trail(owner_client: Client, organization: object) -> None:
    response = post(
        owner_client, "/api/v1/optouts/", {"organization": organization.pk, "cell": "(202) 555-0175", "reason": "asked"}
    )  # type: ignore[attr-defined]
    assert response.status_code == 201  # type: ignore[attr-defined]
    assert response.json()["cell"] == "+12025550175"  # type: ignore[attr-defined]
    rows = owner_client.get("/api/v1/optouts/?cell=2025550175").json()["results"]
    assert len(rows) == 1
    assert post(owner_client, f"/api/v1/optouts/{rows[0]['id']}/remove/", {}).status_code == 400  # type: ignore[attr-defined]
    assert post(owner_client, f"/api/v1/optouts/{rows[0]['id']}/remove/", {"reason": "texted START"}).status_code == 204  # type: ignore[attr-defined]
    assert not OptOut.objects.exists()
    assert OptOutEvent.objects.count() == 2


def test_optout_bad_number_and_supervolunteer_refused(
    client: Client, supervolunteer: User, organization: object
) -> None:
    login(client, supervolunteer)
    assert post(client, "/api/v1/optouts/", {"organization": organization.pk, "cell": "12"}).status_code == 400  # type: ignore[attr-defined]
    assert post(client, "/api/v1/optouts/", {"organization": organization.pk, "cell": "2025550175"}).status_code == 403  # type: ignore[attr-defined]


def test_tags_create_list_and_refuse_duplicates(
    client: Client, owner: User, outsider: User, organization: object
) -> None:
    login(client, owner)
    response = post(client, "/api/v1/tags/", {"organization": organization.pk, "name": "needs ride"})  # type: ignore[attr-defined]
    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    assert post(client, "/api/v1/tags/", {"organization": organization.pk, "name": "needs ride"}).status_code == 400  # type: ignore[attr-defined]
    assert [row["name"] for row in client.get("/api/v1/tags/").json()["results"]] == ["needs ride"]
    login(client, outsider)
    assert client.get("/api/v1/tags/").json()["results"] == []
    tag = Tag.objects.get()
    assert client.get(f"/api/v1/tags/{tag.pk}/").status_code == 404
    TagFactory.create(organization=tag.organization, name="other")
    assert client.get(f"/api/v1/tags/?organization={tag.organization_id}").json()["results"] == []


def test_contacts_statuses_are_the_model_choices() -> None:
    assert "needs_message" in ContactStatus.values
