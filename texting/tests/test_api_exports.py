"""The exports API: start, status with progress, downloads of both CSVs; per role and organization."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, InteractionStep, JobStatus, QuestionResponse
from conftest import login
from spoke.testing import CampaignFactory, ContactFactory, MembershipFactory, MessageFactory
from texting.exports import export_run
from texting.models import Direction, ExportJob, MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(campaign: Campaign, assignment: Assignment) -> Contact:
    contact = ContactFactory.create(
        campaign=campaign,
        assignment=assignment,
        first_name="=cmd|' /C calc'!A0",
        last_name="Lopez",
        cell="+12025550101",
        custom_fields={"ward": "7"},
        status=ContactStatus.CONVO,
    )
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    QuestionResponse.objects.create(contact=contact, interaction_step=root, value="Yes")
    MessageFactory.create(contact=contact, texter=assignment.texter, body="Hi Maria")
    MessageFactory.create(contact=contact, direction=Direction.INBOUND, status=MessageStatus.RECEIVED, body="Yes!")
    return contact


def done_export(campaign: Campaign) -> ExportJob:
    job = ExportJob.objects.create(campaign=campaign)
    return export_run(job=job)


def csv_rows(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_admin_starts_an_export_and_follows_it_to_the_downloads(
    client: Client,
    admin_user: User,
    campaign: Campaign,
    answered: Contact,
    texter: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    token = Token.objects.create(user=admin_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/campaigns/{campaign.pk}/export/", **auth)  # type: ignore[arg-type]
    assert response.status_code == 202
    started = response.json()
    job = ExportJob.objects.get(pk=started["id"])
    assert job.created_by == admin_user

    status = client.get(f"/api/v1/exports/{job.pk}/", **auth).json()  # type: ignore[arg-type]
    assert (status["status"], status["progress"], status["campaign"]) == ("done", 100, campaign.pk)
    assert status["contacts_url"] == f"http://testserver/api/v1/exports/{job.pk}/contacts/"

    contacts = client.get(status["contacts_url"], **auth)  # type: ignore[arg-type]
    assert contacts.status_code == 200
    assert contacts["Content-Type"].startswith("text/csv")
    assert f'filename="campaign-{campaign.pk}-contacts-export-{job.pk}.csv"' in contacts["Content-Disposition"]
    [row] = csv_rows(contacts)
    assert row["firstName"] == "'=cmd|' /C calc'!A0"  # a formula cell is neutralized
    assert (row["cell"], row["ward"], row["texterEmail"]) == ("+12025550101", "7", texter.email)
    assert row["Can we count on your vote?"] == "Yes"

    messages = client.get(status["messages_url"], HTTP_ACCEPT="text/csv", **auth)  # type: ignore[arg-type]
    assert messages.status_code == 200
    assert [(r["direction"], r["body"]) for r in csv_rows(messages)] == [("out", "Hi Maria"), ("in", "Yes!")]


def test_owner_lists_exports_by_campaign(owner_client: Client, campaign: Campaign, organization: Organization) -> None:
    other = CampaignFactory.create(organization=organization)
    mine, _ = done_export(campaign), done_export(other)
    rows = owner_client.get(f"/api/v1/exports/?campaign={campaign.pk}").json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert len(owner_client.get("/api/v1/exports/").json()["results"]) == 2
    assert owner_client.get("/api/v1/exports/?campaign=abc").status_code == 400


def test_a_second_export_while_one_runs_is_refused(owner_client: Client, campaign: Campaign) -> None:
    ExportJob.objects.create(campaign=campaign, status=JobStatus.RUNNING, progress=40)
    response = owner_client.post(f"/api/v1/campaigns/{campaign.pk}/export/")
    assert response.status_code == 409
    assert "already running" in response.json()["detail"]
    assert ExportJob.objects.count() == 1


def test_a_running_export_shows_progress_and_has_no_file_yet(owner_client: Client, campaign: Campaign) -> None:
    job = ExportJob.objects.create(campaign=campaign, status=JobStatus.RUNNING, progress=40)
    status = owner_client.get(f"/api/v1/exports/{job.pk}/").json()
    assert (status["status"], status["progress"], status["contacts_url"]) == ("running", 40, None)
    response = owner_client.get(f"/api/v1/exports/{job.pk}/contacts/")
    assert response.status_code == 404
    assert "no contacts file yet: it is running" in response.json()["detail"]


def test_supervolunteer_is_refused_exports(client: Client, supervolunteer: User, campaign: Campaign) -> None:
    job = done_export(campaign)
    login(client, supervolunteer)
    for response in (
        client.post(f"/api/v1/campaigns/{campaign.pk}/export/"),
        client.get("/api/v1/exports/"),
        client.get(f"/api/v1/exports/{job.pk}/"),
        client.get(f"/api/v1/exports/{job.pk}/contacts/"),
    ):
        assert response.status_code == 403
        assert "admin" in response.json()["detail"]
    assert ExportJob.objects.count() == 1


def test_supervolunteer_here_and_admin_elsewhere_sees_only_the_other_organization(
    client: Client, supervolunteer: User, campaign: Campaign, other_organization: Organization
) -> None:
    MembershipFactory.create(user=supervolunteer, organization=other_organization, role=Role.ADMIN)
    job = done_export(campaign)
    login(client, supervolunteer)
    assert client.get("/api/v1/exports/").json()["results"] == []
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code == 403
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/export/").status_code == 403


def test_texter_is_refused(texter_client: Client, campaign: Campaign) -> None:
    job = done_export(campaign)
    assert texter_client.get(f"/api/v1/exports/{job.pk}/messages/").status_code == 403
    assert texter_client.post(f"/api/v1/campaigns/{campaign.pk}/export/").status_code == 403


def test_another_organization_gets_404_for_every_id(outsider_client: Client, campaign: Campaign) -> None:
    job = done_export(campaign)
    assert outsider_client.get("/api/v1/exports/").json()["results"] == []
    assert outsider_client.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert outsider_client.get(f"/api/v1/exports/{job.pk}/contacts/").status_code == 404
    assert outsider_client.get(f"/api/v1/exports/{job.pk}/messages/").status_code == 404
    assert outsider_client.post(f"/api/v1/campaigns/{campaign.pk}/export/").status_code == 404
    assert ExportJob.objects.count() == 1


def test_anonymous_is_refused(client: Client, campaign: Campaign) -> None:
    job = done_export(campaign)
    assert client.get(f"/api/v1/exports/{job.pk}/contacts/").status_code in (401, 403)
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/export/").status_code in (401, 403)


def test_unknown_ids_and_methods(owner_client: Client, campaign: Campaign) -> None:
    assert owner_client.post("/api/v1/campaigns/999999/export/").status_code == 404
    assert owner_client.get("/api/v1/exports/999999/").status_code == 404
    assert owner_client.get(f"/api/v1/campaigns/{campaign.pk}/export/").status_code == 405
    job = done_export(campaign)
    assert owner_client.delete(f"/api/v1/exports/{job.pk}/").status_code == 405
    assert owner_client.post(f"/api/v1/exports/{job.pk}/contacts/").status_code == 405


def test_export_list_statements_do_not_grow_with_rows(
    owner_client: Client,
    campaign: Campaign,
    assert_statements: Callable[[int], AbstractContextManager[Any]],
) -> None:
    done_export(campaign)
    owner_client.get("/api/v1/exports/")  # the session's first request loads the user
    # user, organizer scope, count, page (the session comes from the cache)
    with assert_statements(4):
        assert len(owner_client.get("/api/v1/exports/").json()["results"]) == 1
    for _ in range(4):
        done_export(campaign)
    with assert_statements(4):
        assert len(owner_client.get("/api/v1/exports/").json()["results"]) == 5
