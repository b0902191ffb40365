"""The back office's campaign pages: access by role, the script form, upload, texters, start, results,
tags and opt-outs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, Role, User
from campaigns.models import (
    Assignment,
    Campaign,
    Contact,
    ContactStatus,
    ImportJob,
    InteractionStep,
    JobStatus,
    OptOut,
    OptOutEvent,
    OptOutSource,
    QuestionResponse,
    Tag,
)
from campaigns.services import optout_create
from spoke.testing import (
    SPOKE_FIXTURES,
    AssignmentFactory,
    CampaignFactory,
    ContactFactory,
    InteractionStepFactory,
    MembershipFactory,
    TagFactory,
    UserFactory,
    admin_form_data,
)

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:campaigns_{name}", args=args)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def new_campaign(organization: Organization) -> Campaign:
    """A campaign that has not started, with a first message and no contacts."""
    campaign = CampaignFactory(organization=organization, title="Spring canvass", is_started=False, started_at=None)
    InteractionStepFactory(campaign=campaign, script="Hi {firstName}!", question="")
    return campaign


@pytest.fixture
def foreign_campaign(other_organization: Organization) -> Campaign:
    return CampaignFactory(organization=other_organization, title="Secret foreign campaign")


# --- Access by role --------------------------------------------------------------------------------


def test_owner_opens_every_campaign_page(
    client: Client, owner: User, organization: Organization, campaign: Campaign, contact: Contact
) -> None:
    tag = TagFactory(organization=organization)
    optout = optout_create(organization=organization, cell="+12025550109", source=OptOutSource.TEXTER)
    job = ImportJob.objects.create(campaign=campaign, original_name="list.csv")
    client.force_login(owner)
    pages = [
        url("tag_change", tag.pk),
        url("optout_change", optout.pk),
        url("optoutevent_change", OptOutEvent.objects.get().pk),
        url("importjob_change", job.pk),
        url("campaign_changelist"),
        url("campaign_add"),
        url("campaign_change", campaign.pk),
        url("campaign_upload", campaign.pk),
        url("campaign_assign", campaign.pk),
        url("campaign_results", campaign.pk),
        url("tag_changelist"),
        url("tag_add"),
        url("optout_changelist"),
        url("optout_add"),
        url("optoutevent_changelist"),
        url("importjob_changelist"),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
    assert b"Get out the vote" in client.get(url("campaign_changelist")).content


def test_supervolunteer_views_campaigns_without_editing(
    client: Client, supervolunteer: User, campaign: Campaign, contact: Contact
) -> None:
    client.force_login(supervolunteer)
    change = client.get(url("campaign_change", campaign.pk))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content  # view-only form
    assert b"Can we count on your vote?" in change.content
    assert client.get(url("campaign_results", campaign.pk)).status_code == 200
    assert client.get(url("campaign_assign", campaign.pk)).status_code == 200  # they reassign
    assert client.get(url("campaign_upload", campaign.pk)).status_code == 403
    assert client.post(url("campaign_start", campaign.pk)).status_code == 403
    assert client.post(url("campaign_archive", campaign.pk), {"archived": "1"}).status_code == 403
    assert client.get(url("campaign_add")).status_code == 403
    assert client.post(url("campaign_change", campaign.pk), {"title": "Hijacked"}).status_code == 403
    assert client.get(url("optout_changelist")).status_code == 200
    assert client.get(url("optout_add")).status_code == 403
    assert client.get(url("tag_changelist")).status_code == 200
    assert client.get(url("tag_add")).status_code == 403
    campaign.refresh_from_db()
    assert campaign.title == "Get out the vote" and not campaign.is_archived


def test_texter_is_sent_to_the_admin_login(client: Client, texter: User, campaign: Campaign) -> None:
    client.force_login(texter)
    for page in (url("campaign_changelist"), url("campaign_change", campaign.pk), url("optout_changelist")):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_outsider_sees_none_of_the_organizations_campaigns(
    client: Client, outsider: User, campaign: Campaign, contact: Contact
) -> None:
    client.force_login(outsider)
    changelist = client.get(url("campaign_changelist"))
    assert changelist.status_code == 200
    assert b"Get out the vote" not in changelist.content
    for page in (
        url("campaign_change", campaign.pk),
        url("campaign_upload", campaign.pk),
        url("campaign_assign", campaign.pk),
        url("campaign_results", campaign.pk),
    ):
        response = client.get(page)
        assert response.status_code == 404, page
        assert b"Get out the vote" not in response.content
    assert client.post(url("campaign_start", campaign.pk)).status_code == 404
    assert client.post(url("campaign_archive", campaign.pk), {"archived": "1"}).status_code == 404


def test_outsider_sees_none_of_the_organizations_tags_and_optouts(
    client: Client, outsider: User, organization: Organization
) -> None:
    tag = TagFactory(organization=organization, name="needs-ride-secret")
    optout = optout_create(organization=organization, cell="+12025550111", source=OptOutSource.TEXTER)
    client.force_login(outsider)
    assert b"needs-ride-secret" not in client.get(url("tag_changelist")).content
    assert client.get(url("tag_change", tag.pk)).status_code == 404
    assert b"+12025550111" not in client.get(url("optout_changelist")).content
    assert b"+12025550111" not in client.get(url("optoutevent_changelist")).content
    assert client.get(url("optout_change", optout.pk)).status_code == 404
    assert client.get(url("optout_opt_in", optout.pk)).status_code == 404


# --- Campaign list ------------------------------------------------------------------------------


def _campaign_changelist_statements(client: Client, organization: Organization, campaigns: int) -> int:
    for _ in range(campaigns):
        campaign = CampaignFactory(organization=organization)
        ContactFactory.create_batch(2, campaign=campaign)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("campaign_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_campaign_changelist_runs_a_fixed_number_of_queries(
    client: Client, owner: User, organization: Organization
) -> None:
    client.force_login(owner)
    client.get(url("campaign_changelist"))  # warm per-process caches (content types, sessions)
    few = _campaign_changelist_statements(client, organization, 2)
    many = _campaign_changelist_statements(client, organization, 8)
    assert few == many


def test_campaign_changelist_shows_status_and_contact_count(
    client: Client, owner: User, campaign: Campaign, new_campaign: Campaign
) -> None:
    ContactFactory.create_batch(3, campaign=campaign)
    client.force_login(owner)
    response = client.get(url("campaign_changelist"))
    rows = {row.title: row for row in response.context["cl"].result_list}
    assert rows["Get out the vote"].contacts_total == 3
    assert rows["Spring canvass"].contacts_total == 0
    assert b"spoke-status-started" in response.content and b"spoke-status-draft" in response.content
    drafts = client.get(url("campaign_changelist"), {"state": "draft"})
    assert [c.title for c in drafts.context["cl"].result_list] == ["Spring canvass"]


def test_campaign_search_by_title_and_superuser_sees_every_organization(
    client: Client, owner: User, campaign: Campaign, new_campaign: Campaign, foreign_campaign: Campaign
) -> None:
    client.force_login(owner)
    found = client.get(url("campaign_changelist"), {"q": "spring"})
    assert [c.title for c in found.context["cl"].result_list] == ["Spring canvass"]
    client.force_login(User.objects.create_superuser(email="root@example.com", password="x"))
    titles = {c.title for c in client.get(url("campaign_changelist")).context["cl"].result_list}
    assert titles == {"Get out the vote", "Spring canvass", "Secret foreign campaign"}


def test_start_needs_the_csrf_token(owner: User, new_campaign: Campaign) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.post(url("campaign_start", new_campaign.pk)).status_code == 403


def test_archive_and_unarchive_actions(
    client: Client, owner: User, campaign: Campaign, foreign_campaign: Campaign
) -> None:
    client.force_login(owner)
    response = client.post(
        url("campaign_changelist"),
        {"action": "archive_selected", "_selected_action": [campaign.pk, foreign_campaign.pk]},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    foreign_campaign.refresh_from_db()
    assert campaign.is_archived
    assert not foreign_campaign.is_archived
    archived = client.get(url("campaign_changelist"), {"state": "archived"})
    assert [c.title for c in archived.context["cl"].result_list] == ["Get out the vote"]
    client.post(url("campaign_changelist"), {"action": "unarchive_selected", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert not campaign.is_archived


# --- Campaign form: settings and script ----------------------------------------------------------


def test_add_campaign_defaults_to_the_users_only_organization(
    client: Client, owner: User, organization: Organization, other_organization: Organization
) -> None:
    client.force_login(owner)
    form = client.get(url("campaign_add")).context["adminform"].form
    assert list(form.fields["organization"].queryset) == [organization]
    assert form["organization"].value() == organization.pk
    data = {
        **admin_form_data(client.get(url("campaign_add"))),
        "title": "Fall GOTV",
        "first_message": "Hi {firstName}, it's {texterFirstName}. Will you vote?",
        "first_question": "Will you vote?",
    }
    refused = client.post(url("campaign_add"), {**data, "organization": other_organization.pk})
    assert refused.status_code == 200
    assert "organization" in refused.context["adminform"].form.errors
    assert not Campaign.objects.filter(title="Fall GOTV").exists()

    response = client.post(url("campaign_add"), data)
    assert response.status_code == 302
    campaign = Campaign.objects.get(title="Fall GOTV")
    assert campaign.organization == organization
    assert (campaign.texting_hours_start, campaign.texting_hours_end) == (9, 21)  # the defaults, preset
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    assert (root.script, root.question) == ("Hi {firstName}, it's {texterFirstName}. Will you vote?", "Will you vote?")
    assert not campaign.is_started


def test_first_message_with_unknown_fields_is_saved_with_a_warning(
    client: Client, owner: User, new_campaign: Campaign
) -> None:
    client.force_login(owner)
    data = admin_form_data(client.get(url("campaign_change", new_campaign.pk)))
    data["first_message"] = "Hi {firstNmae}!"
    response = client.post(url("campaign_change", new_campaign.pk), data)
    assert response.status_code == 302
    assert any("{firstNmae}" in message for message in messages_of(response))


def test_first_message_question_and_answers_are_saved_as_steps(
    client: Client, owner: User, new_campaign: Campaign
) -> None:
    client.force_login(owner)
    page = client.get(url("campaign_change", new_campaign.pk))
    data = admin_form_data(page)
    data.update(first_message="Hi {firstName}, can we count on your vote?", first_question="Can we count on you?")
    response = client.post(url("campaign_change", new_campaign.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    root = InteractionStep.objects.get(campaign=new_campaign, parent__isnull=True)
    assert root.script == "Hi {firstName}, can we count on your vote?"
    assert root.question == "Can we count on you?"

    page = client.get(url("campaign_change", new_campaign.pk))
    assert "Q: Can we count on you?" in page.content.decode()
    data = admin_form_data(page)
    data.update(
        {
            "interaction_steps-TOTAL_FORMS": 2,
            "interaction_steps-0-parent": root.pk,
            "interaction_steps-0-answer_option": "Yes",
            "interaction_steps-0-script": "Great, thank you!",
            "interaction_steps-0-question": "Need a ride?",
            "interaction_steps-0-position": 0,
            "interaction_steps-1-parent": root.pk,
            "interaction_steps-1-answer_option": "No",
            "interaction_steps-1-script": "Thanks anyway.",
            "interaction_steps-1-question": "",
            "interaction_steps-1-position": 1,
        }
    )
    response = client.post(url("campaign_change", new_campaign.pk), data)
    assert response.status_code == 302
    answers = InteractionStep.objects.filter(campaign=new_campaign, parent=root).order_by("position")
    assert [(a.answer_option, a.script, a.question) for a in answers] == [
        ("Yes", "Great, thank you!", "Need a ride?"),
        ("No", "Thanks anyway.", ""),
    ]
    # The new answer is offered as a parent, labelled by the path that leads to it.
    assert "after answer Yes → Q: Need a ride?" in client.get(url("campaign_change", new_campaign.pk)).content.decode()


def test_answer_parents_are_this_campaigns_steps_only(
    client: Client, owner: User, campaign: Campaign, organization: Organization
) -> None:
    other = CampaignFactory(organization=organization)
    foreign_step = InteractionStepFactory(campaign=other, question="Another campaign's question")
    client.force_login(owner)
    page = client.get(url("campaign_change", campaign.pk))
    html = page.content.decode()
    assert "Q: Can we count on your vote?" in html
    assert "after answer Yes → Q: Need a ride?" in html
    assert "Another campaign&#x27;s question" not in html and "Another campaign's question" not in html
    data = admin_form_data(page)
    data["interaction_steps-0-parent"] = foreign_step.pk
    response = client.post(url("campaign_change", campaign.pk), data)
    assert response.status_code == 200  # refused: not one of the choices
    assert InteractionStep.objects.filter(parent=foreign_step).count() == 0


def test_answer_cannot_come_after_itself(client: Client, owner: User, campaign: Campaign) -> None:
    client.force_login(owner)
    page = client.get(url("campaign_change", campaign.pk))
    data = admin_form_data(page)
    yes = InteractionStep.objects.get(campaign=campaign, answer_option="Yes")
    needs_ride = InteractionStep.objects.get(campaign=campaign, answer_option="Needs ride")
    formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.prefix == "interaction_steps")
    index = next(i for i, form in enumerate(formset.initial_forms) if form.instance.pk == yes.pk)
    data[f"interaction_steps-{index}-parent"] = needs_ride.pk
    response = client.post(url("campaign_change", campaign.pk), data)
    assert response.status_code == 200
    assert "would come after itself" in response.content.decode()
    yes.refresh_from_db()
    assert yes.parent_id != needs_ride.pk


def test_script_fields_listed_include_custom_fields(client: Client, owner: User, campaign: Campaign) -> None:
    ContactFactory(campaign=campaign, custom_fields={"favorite_color": "green"})
    client.force_login(owner)
    html = client.get(url("campaign_change", campaign.pk)).content.decode()
    assert "{firstName}" in html and "{texterFirstName}" in html and "{favorite_color}" in html


def test_campaign_change_page_runs_a_fixed_number_of_queries_for_answers(
    client: Client, owner: User, campaign: Campaign
) -> None:
    client.force_login(owner)
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("campaign_change", campaign.pk)).status_code == 200
        return len(queries)

    statements()  # warm per-process caches (content types, sessions)
    before = statements()
    for index in range(5):
        InteractionStepFactory(campaign=campaign, parent=root, answer_option=f"Maybe {index}", question="")
    assert statements() == before


# --- Upload contacts ---------------------------------------------------------------------------


def _upload(client: Client, campaign: Campaign, name: str) -> Any:
    content = (SPOKE_FIXTURES / name).read_bytes()
    return client.post(
        url("campaign_upload", campaign.pk),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def test_upload_contacts_imports_the_list_and_shows_the_report(
    client: Client, owner: User, new_campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, new_campaign, "female_scientists.csv")
    assert response.status_code == 302
    assert response["Location"] == url("campaign_upload", new_campaign.pk)
    assert Contact.objects.filter(campaign=new_campaign).count() == 405
    job = ImportJob.objects.get(campaign=new_campaign)
    assert job.status == JobStatus.DONE and job.imported == 405
    page = client.get(response["Location"])
    assert page.context["job"] == job
    html = page.content.decode()
    assert "female_scientists.csv" in html and "<strong>405</strong>imported" in html
    assert 'accept=".csv,text/csv"' in html and "firstName" in html and "external_id" in html


def test_upload_refuses_a_file_without_a_first_name_column(
    client: Client, owner: User, new_campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, new_campaign, "two-contacts-broken.csv")
    assert response.status_code == 302
    errors = messages_of(response)
    assert any("no first name column (firstName)" in message for message in errors), errors
    assert not Contact.objects.filter(campaign=new_campaign).exists()
    assert not ImportJob.objects.filter(campaign=new_campaign).exists()


def test_rejected_rows_download_is_scoped(
    client: Client, owner: User, outsider: User, new_campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(owner)
    rows = "firstName,lastName,cell\nAda,Good,2025550100\nBad,Number,12345\n"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url("campaign_upload", new_campaign.pk),
            {"file": SimpleUploadedFile("mixed.csv", rows.encode(), content_type="text/csv")},
        )
    job = ImportJob.objects.get(campaign=new_campaign)
    assert job.invalid_cell == 1 and job.rejected_file
    download = url("campaign_rejected_rows", new_campaign.pk, job.pk)
    assert download in client.get(url("campaign_upload", new_campaign.pk)).content.decode()
    response = client.get(download)
    assert response.status_code == 200
    assert b"12345" in b"".join(response.streaming_content)
    client.force_login(outsider)
    assert client.get(download).status_code == 404


# --- Assign texters ------------------------------------------------------------------------------


def test_assign_texters_by_count_then_split_the_rest_evenly(
    client: Client, owner: User, texter: User, other_texter: User, new_campaign: Campaign
) -> None:
    ContactFactory.create_batch(10, campaign=new_campaign)
    client.force_login(owner)
    page = client.get(url("campaign_assign", new_campaign.pk))
    assert page.context["unassigned"] == 10
    assert {row.texter for row, _ in page.context["bound_rows"]} >= {texter, other_texter}

    response = client.post(
        url("campaign_assign", new_campaign.pk),
        {"assign": "1", f"count_{texter.pk}": "3", f"count_{other_texter.pk}": ""},
    )
    assert response.status_code == 302
    assert Contact.objects.filter(assignment__texter=texter).count() == 3
    assert "Assigned 3 contacts" in messages_of(response)[0]

    response = client.post(
        url("campaign_assign", new_campaign.pk),
        {"split_evenly": "1", "split": [texter.pk, other_texter.pk]},
    )
    assert response.status_code == 302
    assert Contact.objects.filter(campaign=new_campaign, assignment__isnull=True).count() == 0
    assert Contact.objects.filter(assignment__texter=texter).count() == 3 + 4
    assert Contact.objects.filter(assignment__texter=other_texter).count() == 3

    page = client.get(url("campaign_assign", new_campaign.pk))
    rows = {row.texter: row for row, _ in page.context["bound_rows"]}
    assert (rows[texter].assigned, rows[texter].to_send, rows[texter].needs_response) == (7, 7, 0)
    assert page.context["unassigned"] == 0


def test_assign_refuses_negative_counts_and_strangers(
    client: Client, owner: User, texter: User, outsider: User, new_campaign: Campaign
) -> None:
    ContactFactory.create_batch(3, campaign=new_campaign)
    client.force_login(owner)
    response = client.post(url("campaign_assign", new_campaign.pk), {"assign": "1", f"count_{texter.pk}": "-2"})
    assert response.status_code == 200 and response.context["form"].errors
    client.post(url("campaign_assign", new_campaign.pk), {"split_evenly": "1", "split": [outsider.pk]})
    assert not Assignment.objects.filter(campaign=new_campaign).exists()


def test_former_member_can_only_have_contacts_taken_back(client: Client, owner: User, new_campaign: Campaign) -> None:
    former = UserFactory(first_name="Gone")
    assignment = AssignmentFactory(campaign=new_campaign, texter=former)
    ContactFactory(campaign=new_campaign, assignment=assignment)
    ContactFactory.create_batch(2, campaign=new_campaign)
    client.force_login(owner)
    page = client.get(url("campaign_assign", new_campaign.pk))
    rows = {row.texter: (row, field) for row, field in page.context["bound_rows"]}
    assert rows[former][0].is_member is False and rows[former][1] is None
    assert "no longer in the organization" in page.content.decode()
    client.post(url("campaign_assign", new_campaign.pk), {"assign": "1", f"count_{former.pk}": "2"})
    assert Contact.objects.filter(assignment=assignment).count() == 1
    client.post(url("campaign_assign", new_campaign.pk), {"remove": former.pk})
    assert Contact.objects.filter(assignment=assignment).count() == 0


def test_take_back_unsent_contacts(client: Client, supervolunteer: User, campaign: Campaign, texter: User) -> None:
    assignment = AssignmentFactory(campaign=campaign, texter=texter)
    ContactFactory.create_batch(2, campaign=campaign, assignment=assignment)
    ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
    client.force_login(supervolunteer)
    response = client.post(url("campaign_assign", campaign.pk), {"remove": texter.pk})
    assert response.status_code == 302
    assert Contact.objects.filter(assignment=assignment).count() == 1  # the conversation stays
    assert "2 unsent contacts" in messages_of(response)[0]


# --- Start, archive, results -------------------------------------------------------------------


def test_start_is_refused_naming_what_is_missing_then_succeeds(
    client: Client, owner: User, texter: User, organization: Organization
) -> None:
    campaign = CampaignFactory(organization=organization, is_started=False, started_at=None)
    client.force_login(owner)
    response = client.post(url("campaign_start", campaign.pk))
    assert response.status_code == 302
    error = messages_of(response)[0]
    assert "no contacts" in error and "no script" in error
    campaign.refresh_from_db()
    assert not campaign.is_started
    page = client.get(url("campaign_change", campaign.pk)).content.decode()
    assert "Before this campaign can start" in page

    InteractionStepFactory(campaign=campaign, script="Hi {firstName}")
    ContactFactory.create_batch(2, campaign=campaign)
    error = messages_of(client.post(url("campaign_start", campaign.pk)))[0]
    assert "2 contacts are not assigned" in error

    client.post(url("campaign_assign", campaign.pk), {"assign": "1", f"count_{texter.pk}": "2"})
    response = client.post(url("campaign_start", campaign.pk))
    assert "has started" in messages_of(response)[-1]
    campaign.refresh_from_db()
    assert campaign.is_started and campaign.started_at is not None


def test_start_answers_only_post(client: Client, owner: User, new_campaign: Campaign) -> None:
    client.force_login(owner)
    assert client.get(url("campaign_start", new_campaign.pk)).status_code == 405
    assert client.get(url("campaign_archive", new_campaign.pk)).status_code == 405


def test_archive_and_unarchive_buttons(client: Client, owner: User, campaign: Campaign) -> None:
    client.force_login(owner)
    change = client.get(url("campaign_change", campaign.pk)).content.decode()
    assert url("campaign_archive", campaign.pk) in change
    client.post(url("campaign_archive", campaign.pk), {"archived": "1"})
    campaign.refresh_from_db()
    assert campaign.is_archived
    assert "Unarchive" in client.get(url("campaign_change", campaign.pk)).content.decode()
    client.post(url("campaign_archive", campaign.pk), {"archived": "0"})
    campaign.refresh_from_db()
    assert not campaign.is_archived


def test_results_count_answers_statuses_and_opt_outs(
    client: Client, supervolunteer: User, campaign: Campaign, assignment: Assignment
) -> None:
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    yes_step = InteractionStep.objects.get(campaign=campaign, answer_option="Yes")
    voters = ContactFactory.create_batch(3, campaign=campaign, assignment=assignment, status=ContactStatus.CONVO)
    for contact, value in zip(voters, ["Yes", "Yes", "No"], strict=True):
        QuestionResponse.objects.create(contact=contact, interaction_step=root, value=value)
    QuestionResponse.objects.create(contact=voters[0], interaction_step=yes_step, value="Needs ride")
    ContactFactory(campaign=campaign, status=ContactStatus.CLOSED, is_opted_out=True)
    client.force_login(supervolunteer)
    response = client.get(url("campaign_results", campaign.pk))
    assert response.status_code == 200
    survey = {result.question: result for result in response.context["survey"]}
    first = survey["Can we count on your vote?"]
    assert [(a.label, a.count, a.percent) for a in first.answers] == [("Yes", 2, 67), ("No", 1, 33)]
    assert [(a.label, a.count) for a in survey["Need a ride?"].answers] == [("Needs ride", 1)]
    counts = response.context["counts"]
    assert counts.total == 4 and counts.opted_out == 1 and counts.by_status["convo"] == 3
    assert f"campaign__id__exact={campaign.pk}" in response.content.decode()  # link to its conversations


# --- Tags ----------------------------------------------------------------------------------------


def test_tags_are_added_in_the_users_organization(
    client: Client, admin_user: User, organization: Organization, other_organization: Organization
) -> None:
    client.force_login(admin_user)
    form = client.get(url("tag_add")).context["adminform"].form
    assert list(form.fields["organization"].queryset) == [organization]
    response = client.post(
        url("tag_add"), {"organization": organization.pk, "name": "needs ride", "group": "GOTV", "description": ""}
    )
    assert response.status_code == 302
    assert Tag.objects.get(name="needs ride").organization == organization
    response = client.post(url("tag_add"), {"organization": other_organization.pk, "name": "x", "group": ""})
    assert response.status_code == 200 and not Tag.objects.filter(name="x").exists()


# --- Opt-outs ------------------------------------------------------------------------------------


def test_organizer_opts_a_number_out(client: Client, owner: User, organization: Organization, contact: Contact) -> None:
    client.force_login(owner)
    response = client.post(
        url("optout_add"), {"organization": organization.pk, "cell": contact.cell, "reason": "asked by email"}
    )
    assert response.status_code == 302
    optout = OptOut.objects.get(organization=organization, cell=contact.cell)
    assert (optout.source, optout.created_by, optout.reason) == (OptOutSource.ORGANIZER, owner, "asked by email")
    event = OptOutEvent.objects.get(cell=contact.cell)
    assert (event.action, event.created_by) == (OptOutEvent.Action.OPT_OUT, owner)
    contact.refresh_from_db()
    assert contact.is_opted_out and contact.status == ContactStatus.CLOSED


def test_opt_out_cell_is_normalised_and_checked(client: Client, owner: User, organization: Organization) -> None:
    client.force_login(owner)
    client.post(url("optout_add"), {"organization": organization.pk, "cell": "(202) 555-0199", "reason": ""})
    assert OptOut.objects.filter(cell="+12025550199").exists()
    response = client.post(url("optout_add"), {"organization": organization.pk, "cell": "12", "reason": ""})
    assert response.status_code == 200 and "not a valid phone number" in response.content.decode()


def test_opt_back_in_asks_for_a_reason_and_keeps_the_audit_trail(
    client: Client, owner: User, organization: Organization
) -> None:
    optout = optout_create(organization=organization, cell="+12025550142", source=OptOutSource.KEYWORD)
    client.force_login(owner)
    assert url("optout_opt_in", optout.pk) in client.get(url("optout_change", optout.pk)).content.decode()
    page = client.get(url("optout_opt_in", optout.pk))
    assert page.status_code == 200 and "+12025550142" in page.content.decode()
    refused = client.post(url("optout_opt_in", optout.pk), {"confirm": "yes", "reason": "  "})
    assert refused.status_code == 200 and OptOut.objects.filter(pk=optout.pk).exists()
    response = client.post(url("optout_opt_in", optout.pk), {"confirm": "yes", "reason": "texted START"})
    assert response.status_code == 302
    assert not OptOut.objects.filter(pk=optout.pk).exists()
    event = OptOutEvent.objects.get(cell="+12025550142", action=OptOutEvent.Action.OPT_IN)
    assert (event.reason, event.created_by, event.source) == ("texted START", owner, OptOutSource.ORGANIZER)
    events = client.get(url("optoutevent_changelist")).content.decode()
    assert "texted START" in events


def test_opt_back_in_action_for_selected_numbers(client: Client, owner: User, organization: Organization) -> None:
    first = optout_create(organization=organization, cell="+12025550143", source=OptOutSource.TEXTER)
    second = optout_create(organization=organization, cell="+12025550144", source=OptOutSource.TEXTER)
    client.force_login(owner)
    selection = {"action": "opt_back_in", "_selected_action": [first.pk, second.pk]}
    confirm = client.post(url("optout_changelist"), selection)
    assert confirm.status_code == 200 and "Why are they opting back in?" in confirm.content.decode()
    assert OptOut.objects.count() == 2
    response = client.post(url("optout_changelist"), {**selection, "confirm": "yes", "reason": "wrong number"})
    assert response.status_code == 302
    assert OptOut.objects.count() == 0
    assert OptOutEvent.objects.filter(action=OptOutEvent.Action.OPT_IN, reason="wrong number").count() == 2


def test_opt_outs_are_never_deleted_or_edited_directly(client: Client, owner: User, organization: Organization) -> None:
    optout = optout_create(organization=organization, cell="+12025550145", source=OptOutSource.TEXTER)
    client.force_login(owner)
    assert client.get(url("optout_delete", optout.pk)).status_code == 403
    response = client.post(url("optout_change", optout.pk), {"cell": "+12025550146", "organization": organization.pk})
    assert response.status_code == 403
    assert client.get(url("optoutevent_change", OptOutEvent.objects.get().pk)).status_code == 200
    assert client.post(url("optoutevent_delete", OptOutEvent.objects.get().pk), {"post": "yes"}).status_code == 403


def test_supervolunteer_cannot_opt_numbers_back_in(
    client: Client, supervolunteer: User, organization: Organization
) -> None:
    optout = optout_create(organization=organization, cell="+12025550147", source=OptOutSource.TEXTER)
    client.force_login(supervolunteer)
    assert client.get(url("optout_change", optout.pk)).status_code == 200
    assert client.post(url("optout_opt_in", optout.pk), {"confirm": "yes", "reason": "x"}).status_code == 403
    client.post(
        url("optout_changelist"),
        {"action": "opt_back_in", "_selected_action": [optout.pk], "confirm": "yes", "reason": "x"},
    )
    assert OptOut.objects.filter(pk=optout.pk).exists()


# --- Import jobs --------------------------------------------------------------------------------


def test_import_jobs_are_listed_read_only(client: Client, owner: User, outsider: User, new_campaign: Campaign) -> None:
    job = ImportJob.objects.create(campaign=new_campaign, original_name="list.csv", imported=12, status=JobStatus.DONE)
    client.force_login(owner)
    assert b"list.csv" in client.get(url("importjob_changelist")).content
    assert client.get(url("importjob_change", job.pk)).status_code == 200
    assert client.get(url("importjob_add")).status_code == 403
    client.force_login(outsider)
    assert b"list.csv" not in client.get(url("importjob_changelist")).content
    assert client.get(url("importjob_change", job.pk)).status_code == 404


def test_organizer_of_two_organizations_acts_only_where_their_role_allows(
    client: Client, organization: Organization, other_organization: Organization
) -> None:
    person = UserFactory(is_staff=True)
    MembershipFactory(user=person, organization=organization, role=Role.ADMIN)
    MembershipFactory(user=person, organization=other_organization, role=Role.SUPERVOLUNTEER)
    mine = CampaignFactory(organization=organization, title="Mine")
    theirs = CampaignFactory(organization=other_organization, title="Reviewed only")
    client.force_login(person)
    titles = {c.title for c in client.get(url("campaign_changelist")).context["cl"].result_list}
    assert titles == {"Mine", "Reviewed only"}
    client.post(url("campaign_changelist"), {"action": "archive_selected", "_selected_action": [mine.pk, theirs.pk]})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.is_archived and not theirs.is_archived
    assert b'name="_save"' not in client.get(url("campaign_change", theirs.pk)).content


def test_organizer_chooses_the_fields_texters_see(client: Client, owner: User, new_campaign: Campaign) -> None:
    client.force_login(owner)
    data = admin_form_data(client.get(url("campaign_change", new_campaign.pk)))
    data["texter_visible_fields"] = " precinct, zip,, precinct "
    response = client.post(url("campaign_change", new_campaign.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    new_campaign.refresh_from_db()
    assert new_campaign.texter_visible_fields == ["precinct", "zip"]
    page = client.get(url("campaign_change", new_campaign.pk))
    assert 'value="precinct, zip"' in page.content.decode()

    data = admin_form_data(page)
    data["texter_visible_fields"] = ""
    assert client.post(url("campaign_change", new_campaign.pk), data).status_code == 302
    new_campaign.refresh_from_db()
    assert new_campaign.texter_visible_fields is None
