"""Campaign exports: the two CSVs' contents, formula cells neutralized, the job and its downloads,
and the dashboard that lists them; per role and organization."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from campaigns.models import (
    Assignment,
    Campaign,
    Contact,
    ContactStatus,
    ContactTag,
    InteractionStep,
    JobStatus,
    QuestionResponse,
)
from spoke.testing import ContactFactory, MessageFactory, TagFactory
from texting import exports
from texting.exports import export_run, spreadsheet_safe, write_contacts_csv, write_messages_csv
from texting.models import Direction, ExportJob, Message, MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(campaign: Campaign, assignment: Assignment) -> Contact:
    contact = ContactFactory.create(
        campaign=campaign,
        assignment=assignment,
        first_name='=HYPERLINK("http://evil")',
        last_name="Lopez",
        cell="+12025550101",
        custom_fields={"ward": "7", "note": "@SUM(A1)"},
        status=ContactStatus.CONVO,
    )
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    yes = root.children.get(answer_option="Yes")
    QuestionResponse.objects.create(contact=contact, interaction_step=root, value="Yes")
    QuestionResponse.objects.create(contact=contact, interaction_step=yes, value="Needs ride")
    tag = TagFactory.create(organization=campaign.organization, name="volunteer")
    ContactTag.objects.create(contact=contact, tag=tag)
    MessageFactory.create(contact=contact, texter=assignment.texter, body="Hi there")
    MessageFactory.create(
        contact=contact, direction=Direction.INBOUND, status=MessageStatus.RECEIVED, body="-1 for you", to_number=""
    )
    MessageFactory.create(contact=contact, status=MessageStatus.FAILED, error_code=30007, body="Vote!")
    return contact


def _read(write: object, campaign: Campaign) -> list[dict[str, str]]:
    out = io.StringIO()
    write(campaign=campaign, out=out)  # type: ignore[operator]
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_contacts_csv_has_texter_custom_fields_tags_and_one_column_per_question(
    campaign: Campaign, answered: Contact, texter: User
) -> None:
    ContactFactory.create(campaign=campaign, cell="+12025550102", custom_fields={"ward": "3", "note": ""})
    rows = _read(write_contacts_csv, campaign)
    assert len(rows) == 2
    row = rows[0]
    assert row["firstName"] == '\'=HYPERLINK("http://evil")'  # neutralized
    assert row["cell"] == "+12025550101"  # a phone number is not a formula
    assert row["ward"] == "7" and row["note"] == "'@SUM(A1)"
    assert row["tags"] == "volunteer"
    assert row["texterEmail"] == texter.email
    assert row["Can we count on your vote?"] == "Yes"
    assert row["Need a ride?"] == "Needs ride"
    assert rows[1]["Can we count on your vote?"] == "" and rows[1]["texter"] == ""


def test_messages_csv_has_one_row_per_message_with_the_error_description(campaign: Campaign, answered: Contact) -> None:
    rows = _read(write_messages_csv, campaign)
    assert [row["body"] for row in rows] == ["Hi there", "'-1 for you", "Vote!"]
    assert rows[2]["errorCode"] == "30007" and rows[2]["errorDescription"].startswith("Carrier filtering")
    assert rows[1]["direction"] == "in"


def test_export_streams_with_a_fixed_number_of_queries(campaign: Campaign, assignment: Assignment) -> None:
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            write_contacts_csv(campaign=campaign, out=io.StringIO())
        return len(queries)

    ContactFactory.create_batch(3, campaign=campaign, assignment=assignment)
    statements()  # the campaign remembers its custom field names after the first call
    few = statements()
    ContactFactory.create_batch(30, campaign=campaign, assignment=assignment)
    assert statements() == few  # tags and answers are fetched per chunk, not per contact


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1 (202) 555-0100", "+1 (202) 555-0100"), ("-", "-"), ("@me", "'@me"), ("ok", "ok")],
)
def test_spreadsheet_safe(value: str, expected: str) -> None:
    assert spreadsheet_safe(value) == expected


def test_export_job_stores_both_files_and_finishes(campaign: Campaign, answered: Contact) -> None:
    job = ExportJob.objects.create(campaign=campaign)
    export_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.DONE, 100)
    with job.contacts_file.open("rb") as handle:
        assert handle.read().decode("utf-8-sig").startswith("campaignId,campaign,contactId")
    with job.messages_file.open("rb") as handle:
        assert b"Hi there" in handle.read()


def test_organizer_exports_from_the_dashboard_and_downloads(
    client: Client, admin_user: User, campaign: Campaign, answered: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:campaigns_campaign_export", args=[campaign.pk]))
    assert response.status_code == 302
    job = ExportJob.objects.get(campaign=campaign)  # jobs run in process in tests
    assert job.status == JobStatus.DONE and job.created_by == admin_user
    page = client.get(reverse("admin:campaigns_campaign_results", args=[campaign.pk]))
    assert b"contacts.csv" in page.content and b"messages.csv" in page.content
    download = client.get(reverse("admin:campaigns_campaign_export_download", args=[campaign.pk, job.pk, "contacts"]))
    assert download.status_code == 200
    assert b"Needs ride" in b"".join(download.streaming_content)  # type: ignore[attr-defined]


def test_supervolunteer_sees_results_but_cannot_export(
    client: Client, supervolunteer: User, campaign: Campaign, answered: Contact
) -> None:
    job = ExportJob.objects.create(campaign=campaign)
    export_run(job=job)
    client.force_login(supervolunteer)
    page = client.get(reverse("admin:campaigns_campaign_results", args=[campaign.pk]))
    assert page.status_code == 200 and b"Export this campaign" not in page.content
    assert client.post(reverse("admin:campaigns_campaign_export", args=[campaign.pk])).status_code == 403
    url = reverse("admin:campaigns_campaign_export_download", args=[campaign.pk, job.pk, "contacts"])
    assert client.get(url).status_code == 403
    assert ExportJob.objects.count() == 1


def test_another_organization_can_neither_export_nor_download(
    client: Client, outsider: User, campaign: Campaign, answered: Contact
) -> None:
    job = ExportJob.objects.create(campaign=campaign)
    export_run(job=job)
    client.force_login(outsider)
    assert client.post(reverse("admin:campaigns_campaign_export", args=[campaign.pk])).status_code == 404
    url = reverse("admin:campaigns_campaign_export_download", args=[campaign.pk, job.pk, "contacts"])
    assert client.get(url).status_code == 404
    assert ExportJob.objects.count() == 1


def test_dashboard_shows_charts_and_tables(owner_client: Client, campaign: Campaign, answered: Contact) -> None:
    page = owner_client.get(reverse("admin:campaigns_campaign_results", args=[campaign.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for marker in ('id="hourly"', "<svg", 'id="texters-table"', 'id="errors"', "reply rate", "Need a ride?"):
        assert marker in html
    stats = page.context["message_stats"]
    assert stats["reply_rate"] == 100 and stats["replied_contacts"] == 1
    assert page.context["hourly"]["total"] == 3
    (row,) = page.context["texter_rows"]
    assert row["messages_sent"] == 1


def test_dashboard_runs_a_fixed_number_of_queries(
    owner_client: Client, campaign: Campaign, assignment: Assignment, answered: Contact
) -> None:
    url = reverse("admin:campaigns_campaign_results", args=[campaign.pk])

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url).status_code == 200
        return len(queries)

    statements()
    few = statements()
    for contact in ContactFactory.create_batch(5, campaign=campaign, assignment=assignment):
        MessageFactory.create(contact=contact, error_code=30003, status=MessageStatus.FAILED)
    ExportJob.objects.create(campaign=campaign)
    ExportJob.objects.create(campaign=campaign)
    assert statements() == few


def test_export_streams_rows_from_a_server_side_cursor_never_a_list(
    campaign: Campaign, answered: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both files are read with `iterator(chunk_size=…)`: on PostgreSQL through a named
    (server-side) cursor, so a million-row campaign never sits in the worker's memory."""
    ContactFactory.create_batch(7, campaign=campaign)
    iterated: list[tuple[str, int | None]] = []
    iterator = QuerySet.iterator

    def spy(self: QuerySet[Any], chunk_size: int | None = None) -> Any:
        iterated.append((self.model.__name__, chunk_size))
        return iterator(self, chunk_size=chunk_size)

    def no_list(self: QuerySet[Any]) -> None:
        # A sliced query (the first and last contact for the custom field names) is small by design.
        if self.model in (Contact, Message) and self.query.high_mark is None:
            raise AssertionError(f"{self.model.__name__} rows were loaded as a list")
        fetch_all(self)

    fetch_all = QuerySet._fetch_all
    monkeypatch.setattr(QuerySet, "iterator", spy)
    monkeypatch.setattr(QuerySet, "_fetch_all", no_list)
    named: list[str] = []
    wrapper = type(connections["default"])
    create_cursor = wrapper.create_cursor

    def record(self: Any, name: str | None = None) -> Any:
        if name:
            named.append(name)
        return create_cursor(self, name)

    monkeypatch.setattr(wrapper, "create_cursor", record)
    monkeypatch.setattr(exports, "CHUNK", 3)

    contacts, messages = io.StringIO(), io.StringIO()
    assert write_contacts_csv(campaign=campaign, out=contacts) == 8
    assert write_messages_csv(campaign=campaign, out=messages) == 3

    assert iterated == [("Contact", 3), ("Message", 3)]
    assert len(list(csv.reader(io.StringIO(contacts.getvalue())))) == 9
    if connection.vendor == "postgresql":
        assert len(named) == 2, "each file is read through its own server-side cursor"
    else:
        assert named == []  # SQLite has no server-side cursors: rows come in fetchmany chunks
