"""The campaign editor's pages: the script tree, canned responses from CSV, copy, first-message
warnings, intro HTML, the upload's progress endpoint and large assignments; per role and org."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from campaigns.admin import pages
from campaigns.models import Campaign, CannedResponse, Contact, ImportJob, InteractionStep, JobStatus, QuestionResponse
from campaigns.selectors import script_tree
from campaigns.services import campaign_copy, first_message_warnings, script_tree_save
from core.errors import ApplicationError
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:campaigns_campaign_{name}", args=args)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


DEEP_TREE = {
    "script": "Hi {firstName}, it's Vote Forward. Reply STOP to opt out.",
    "question": "Can we count on your vote?",
    "children": [
        {
            "answer": "Yes",
            "script": "Great!",
            "question": "Need a ride?",
            "children": [
                {
                    "answer": "Yes, a ride",
                    "script": "What time?",
                    "question": "Morning or afternoon?",
                    "children": [{"answer": "Morning", "script": "See you at 9.", "question": "", "children": []}],
                }
            ],
        },
        {"answer": "No", "script": "Thanks anyway.", "question": "", "children": []},
    ],
}


# --- Script tree -------------------------------------------------------------------------------


def test_script_tree_saves_nested_to_any_depth_and_reads_back(campaign: Campaign) -> None:
    script_tree_save(campaign=campaign, tree=DEEP_TREE)
    tree = script_tree(campaign=campaign)
    assert tree["script"] == DEEP_TREE["script"]
    yes = tree["children"][0]  # type: ignore[index]
    assert yes["answer"] == "Yes"
    assert yes["children"][0]["children"][0]["answer"] == "Morning"
    assert [c["answer"] for c in tree["children"]] == ["Yes", "No"]  # type: ignore[union-attr]
    assert InteractionStep.objects.filter(campaign=campaign).count() == 5


def test_script_tree_keeps_ids_so_recorded_answers_stay_and_deletes_what_was_removed(
    campaign: Campaign, contact: Contact
) -> None:
    tree = script_tree(campaign=campaign)
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    QuestionResponse.objects.create(contact=contact, interaction_step=root, value="Yes")
    tree["question"] = "Will you vote?"
    tree["children"] = list(reversed(tree["children"]))[:1]  # type: ignore[call-overload]  # keep "No" only, first
    script_tree_save(campaign=campaign, tree=tree)
    assert InteractionStep.objects.get(pk=root.pk).question == "Will you vote?"
    assert QuestionResponse.objects.filter(interaction_step=root).count() == 1
    assert list(root.children.values_list("answer_option", flat=True)) == ["No"]


def test_script_tree_refuses_an_unlabelled_answer(campaign: Campaign) -> None:
    with pytest.raises(ApplicationError, match="needs a label"):
        script_tree_save(campaign=campaign, tree={"script": "Hi", "children": [{"answer": " ", "children": []}]})


def test_script_tree_ignores_another_campaigns_step_ids(campaign: Campaign, other_organization: Organization) -> None:
    foreign = CampaignFactory.create(organization=other_organization)
    step = InteractionStep.objects.create(campaign=foreign, script="theirs")
    script_tree_save(campaign=campaign, tree={"id": step.pk, "script": "mine", "children": []})
    assert InteractionStep.objects.get(pk=step.pk).script == "theirs"


def test_admin_saves_the_script_page(owner_client: Client, campaign: Campaign) -> None:
    page = owner_client.get(url("script", campaign.pk))
    assert page.status_code == 200
    assert b'id="script-tree"' in page.content and b'data-chip="firstName"' in page.content
    tree = {**DEEP_TREE, "script": "Hi {firstName}! Reply STOP to opt out."}
    response = owner_client.post(url("script", campaign.pk), {"tree": json.dumps(tree)})
    assert response.status_code == 302
    assert InteractionStep.objects.filter(campaign=campaign, answer_option="Morning").exists()
    notes = messages_of(response)
    assert notes[0] == "The script is saved."
    assert any("doesn't name your organization" in note for note in notes)


def test_script_page_shows_custom_fields_of_loaded_contacts(owner_client: Client, campaign: Campaign) -> None:
    ContactFactory.create(campaign=campaign, custom_fields={"polling_place": "Library"})
    assert b'data-chip="polling_place"' in owner_client.get(url("script", campaign.pk)).content


def test_script_page_refuses_broken_json(owner_client: Client, campaign: Campaign) -> None:
    before = InteractionStep.objects.filter(campaign=campaign).count()
    response = owner_client.post(url("script", campaign.pk), {"tree": "{not json"})
    assert "could not be read" in messages_of(response)[0]
    assert InteractionStep.objects.filter(campaign=campaign).count() == before


def test_supervolunteer_reads_the_script_but_cannot_save_it(
    client: Client, supervolunteer: User, campaign: Campaign
) -> None:
    client.force_login(supervolunteer)
    page = client.get(url("script", campaign.pk))
    assert page.status_code == 200 and b'data-can-edit="false"' in page.content
    assert client.post(url("script", campaign.pk), {"tree": json.dumps(DEEP_TREE)}).status_code == 403


def test_another_organization_gets_404_on_every_editor_page(outsider_client: Client, campaign: Campaign) -> None:
    for name in ("script", "canned_import", "copy"):
        assert outsider_client.post(url(name, campaign.pk)).status_code == 404, name
    assert outsider_client.get(url("script", campaign.pk)).status_code == 404


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("Hi {firstName}, it's Vote Forward. Reply STOP to opt out.", []),
        ("Hi {firstName}, it's Vote Forward.", ["opting out"]),
        ("Hi {firstName}! Reply STOP to opt out", ["organization"]),
        ("", []),
    ],
)
def test_first_message_warnings(script: str, expected: list[str]) -> None:
    warnings = first_message_warnings(script=script, organization_name="Vote Forward")
    assert len(warnings) == len(expected)
    for warning, word in zip(warnings, expected, strict=True):
        assert word in warning


# --- Canned responses, copy, intro -------------------------------------------------------------


def test_canned_responses_import_from_csv(owner_client: Client, campaign: Campaign) -> None:
    before = CannedResponse.objects.filter(campaign=campaign).count()
    upload = SimpleUploadedFile(
        "canned.csv",
        '\ufeffTitle,Text\r\nWhere to vote,"Find your polling place at vote.org, {firstName}"\r\n'
        "Thanks,Thank you!\r\n".encode(),
        content_type="text/csv",
    )
    response = owner_client.post(url("canned_import", campaign.pk), {"file": upload})
    assert "Added 2 canned responses" in messages_of(response)[0]
    added = CannedResponse.objects.filter(campaign=campaign).order_by("-id")[:2]
    assert {r.title for r in added} == {"Where to vote", "Thanks"}
    assert CannedResponse.objects.filter(campaign=campaign).count() == before + 2


def test_canned_responses_import_refuses_a_row_without_text(owner_client: Client, campaign: Campaign) -> None:
    before = CannedResponse.objects.count()
    upload = SimpleUploadedFile("canned.csv", b"Title,Text\nOnly a title\n", content_type="text/csv")
    response = owner_client.post(url("canned_import", campaign.pk), {"file": upload})
    assert "Row 2 needs a title and a text" in messages_of(response)[0]
    assert CannedResponse.objects.count() == before


def test_copy_takes_script_canned_responses_and_settings_not_contacts_or_texters(
    owner_client: Client, campaign: Campaign, contact: Contact
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(response_window_hours=12, primary_color="#123456")
    campaign.refresh_from_db()
    response = owner_client.post(url("copy", campaign.pk))
    copy = Campaign.objects.exclude(pk=campaign.pk).get(organization=campaign.organization)
    assert response["Location"] == url("change", copy.pk)
    assert copy.title == "Copy of Get out the vote" and not copy.is_started
    assert (copy.response_window_hours, copy.primary_color) == (12, "#123456")
    original, copied = script_tree(campaign=campaign), script_tree(campaign=copy)
    strip = json.loads(json.dumps(original).replace('"id": ', '"_": '))

    def without_ids(node: Any) -> Any:
        return {k: (without_ids_list(v) if k == "children" else v) for k, v in node.items() if k != "id"}

    def without_ids_list(nodes: Any) -> Any:
        return [without_ids(n) for n in nodes]

    assert without_ids(copied) == without_ids(original) and strip
    assert copy.canned_responses.count() == campaign.canned_responses.count() == 1
    assert not copy.contacts.exists() and not copy.assignments.exists()
    assert campaign_copy is not None


def test_intro_html_is_sanitized_on_save(owner_client: Client, organization: Organization) -> None:
    response = owner_client.post(
        reverse("admin:campaigns_campaign_add"),
        {
            "organization": organization.pk,
            "title": "New",
            "intro_html": '<p onclick="x()">Read <b>this</b></p><script>alert(1)</script>',
            "primary_color": "#209556",
            "texting_hours_start": 9,
            "texting_hours_end": 21,
            "timezone": "America/New_York",
            "batch_size": 300,
            "response_window_hours": 48,
            "canned_responses-TOTAL_FORMS": 0,
            "canned_responses-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    campaign = Campaign.objects.get(title="New")
    assert campaign.intro_html == "<p>Read <b>this</b></p>"


# --- Upload progress and large assignments ----------------------------------------------------


def test_import_status_endpoint(owner: User, outsider: User, campaign: Campaign) -> None:
    job = ImportJob.objects.create(campaign=campaign, status=JobStatus.RUNNING, progress=42, source_file="x.csv")
    endpoint = url("import_status", campaign.pk, job.pk)
    mine, theirs = Client(), Client()
    mine.force_login(owner)
    theirs.force_login(outsider)
    assert mine.get(endpoint).json() == {"import_id": job.pk, "status": "running", "progress": 42}
    assert theirs.get(endpoint).status_code == 404


def test_upload_page_has_the_live_progress_bar(owner_client: Client, campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(is_started=False)
    ImportJob.objects.create(campaign=campaign, status=JobStatus.RUNNING, progress=10, source_file="x.csv")
    page = owner_client.get(url("upload", campaign.pk)).content.decode()
    assert f'data-campaign-live="{campaign.pk}"' in page and "data-import-progress" in page
    assert "backoffice/live.js" in page


def test_a_large_assignment_runs_as_a_job(
    owner_client: Client,
    campaign: Campaign,
    texter: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setattr(pages, "ASSIGN_JOB_THRESHOLD", 3)
    ContactFactory.create_batch(5, campaign=campaign)
    AssignmentFactory.create(campaign=campaign, texter=texter)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("assign", campaign.pk), {f"count_{texter.pk}": "5", "assign": "1"})
    assert "runs in the background" in messages_of(response)[0]
    assert Contact.objects.filter(campaign=campaign, assignment__texter=texter).count() == 5


# --- Contacts from a previous campaign ---------------------------------------------------------


def test_contacts_from_a_previous_campaign_who_answered_yes(
    owner_client: Client, organization: Organization, campaign: Campaign, assignment: Any
) -> None:
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    said_yes = ContactFactory.create(campaign=campaign, cell="+12025550201", custom_fields={"ward": "2"})
    said_no = ContactFactory.create(campaign=campaign, cell="+12025550202")
    opted_out = ContactFactory.create(campaign=campaign, cell="+12025550203", is_opted_out=True)
    for contact, value in [(said_yes, "Yes"), (said_no, "No"), (opted_out, "Yes")]:
        QuestionResponse.objects.create(contact=contact, interaction_step=root, value=value)
    target = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    ContactFactory.create(campaign=target, cell="+12025550201")  # already here: not added twice

    response = owner_client.post(url("from_campaign", target.pk), {"source": campaign.pk, "answer": "yes"})
    assert "Added 0 contacts" in messages_of(response)[0]
    Contact.objects.filter(campaign=target).delete()
    response = owner_client.post(url("from_campaign", target.pk), {"source": campaign.pk, "answer": "yes"})
    assert "Added 1 contact " in messages_of(response)[-1]
    (copied,) = Contact.objects.filter(campaign=target)
    assert (copied.cell, copied.custom_fields, copied.assignment_id) == ("+12025550201", {"ward": "2"}, None)


def test_contacts_from_another_organizations_campaign_are_refused(
    owner_client: Client, organization: Organization, other_organization: Organization
) -> None:
    foreign = CampaignFactory.create(organization=other_organization)
    ContactFactory.create(campaign=foreign)
    target = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    response = owner_client.post(url("from_campaign", target.pk), {"source": foreign.pk})
    assert "Choose a campaign of your organization" in messages_of(response)[0]
    assert not Contact.objects.filter(campaign=target).exists()


def test_contacts_are_immutable_after_start(
    owner_client: Client, organization: Organization, campaign: Campaign
) -> None:
    source = CampaignFactory.create(organization=organization)
    ContactFactory.create(campaign=source)
    before = Contact.objects.filter(campaign=campaign).count()
    response = owner_client.post(url("from_campaign", campaign.pk), {"source": source.pk})
    assert "has started" in messages_of(response)[0]
    assert Contact.objects.filter(campaign=campaign).count() == before


def test_campaign_list_links_the_conversations_waiting_for_a_reply(
    owner_client: Client, campaign: Campaign, assignment: Any
) -> None:
    ContactFactory.create_batch(2, campaign=campaign, assignment=assignment, status="needs_response")
    ContactFactory.create(campaign=campaign, assignment=assignment, status="needs_response", is_opted_out=True)
    response = owner_client.get(reverse("admin:campaigns_campaign_changelist"))
    (row,) = response.context["cl"].result_list
    assert row.needs_response_total == 2
    assert f"campaign__id__exact={campaign.pk}&amp;status__exact=needs_response" in response.content.decode()


def test_script_tree_cannot_swap_the_root_with_an_answer(campaign: Campaign) -> None:
    root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    answer = root.children.first()
    assert answer is not None
    tree = {"id": answer.pk, "script": "New first", "children": [{"id": root.pk, "answer": "Yes", "children": []}]}
    script_tree_save(campaign=campaign, tree=tree)
    new_root = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    assert new_root.pk == root.pk and new_root.script == "New first"
    assert list(new_root.children.values_list("answer_option", flat=True)) == ["Yes"]


def test_copy_selected_campaigns_from_the_list(
    owner_client: Client, campaign: Campaign, other_organization: Organization
) -> None:
    foreign = CampaignFactory.create(organization=other_organization, title="Theirs")
    owner_client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "copy_selected", "_selected_action": [campaign.pk, foreign.pk], "index": "0"},
    )
    assert Campaign.objects.filter(title="Copy of Get out the vote").count() == 1
    assert not Campaign.objects.filter(title="Copy of Theirs").exists()
