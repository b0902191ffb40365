from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization, User
from campaigns.models import (
    Assignment,
    Campaign,
    CannedResponse,
    Contact,
    ContactStatus,
    ContactTag,
    InteractionStep,
    OptOut,
    OptOutEvent,
    OptOutSource,
    QuestionResponse,
)
from campaigns.services import (
    assignment_unassign,
    campaign_archive,
    campaign_start,
    canned_response_create,
    contact_close,
    contact_reopen,
    contact_tags_set,
    contacts_assign,
    contacts_split_evenly,
    optout_create,
    optout_remove,
    question_response_set,
    script_add_answer,
    script_set_first_message,
)
from core.errors import ApplicationError
from spoke.testing import (
    AssignmentFactory,
    CampaignFactory,
    ContactFactory,
    InteractionStepFactory,
    TagFactory,
    UserFactory,
)

NOW = dt.datetime(2026, 6, 15, 14, 0, tzinfo=dt.UTC)
CELL = "+12025550175"


@pytest.fixture
def new_campaign(organization: Organization) -> Campaign:
    """A campaign that has not started, with a first message and nothing else."""
    campaign = CampaignFactory(organization=organization, is_started=False, started_at=None)
    InteractionStepFactory(campaign=campaign, script="Hi {firstName}!")
    return campaign


def _refused(excinfo: pytest.ExceptionInfo[ApplicationError]) -> str:
    return excinfo.value.message


# --- campaign_start -----------------------------------------------------------------------------


def test_campaign_start_refuses_a_campaign_without_contacts(new_campaign: Campaign) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=new_campaign)
    assert "no contacts" in _refused(excinfo)
    assert excinfo.value.code == "not_ready"
    new_campaign.refresh_from_db()
    assert not new_campaign.is_started
    assert new_campaign.started_at is None


def test_campaign_start_refuses_a_campaign_without_a_script(organization: Organization, texter: User) -> None:
    campaign = CampaignFactory(organization=organization, is_started=False, started_at=None)
    ContactFactory(campaign=campaign, assignment=AssignmentFactory(campaign=campaign, texter=texter))
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=campaign)
    assert "no script" in _refused(excinfo)
    assert "no contacts" not in _refused(excinfo)


@pytest.mark.parametrize("script", ["", "   \n"])
def test_campaign_start_refuses_an_empty_first_message(new_campaign: Campaign, texter: User, script: str) -> None:
    InteractionStep.objects.filter(campaign=new_campaign).update(script=script)
    ContactFactory(campaign=new_campaign, assignment=AssignmentFactory(campaign=new_campaign, texter=texter))
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=new_campaign)
    assert "no script" in _refused(excinfo)


def test_campaign_start_names_how_many_contacts_are_unassigned(new_campaign: Campaign, texter: User) -> None:
    ContactFactory(campaign=new_campaign, assignment=AssignmentFactory(campaign=new_campaign, texter=texter))
    ContactFactory.create_batch(3, campaign=new_campaign)
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=new_campaign)
    assert "3 contacts are not assigned" in _refused(excinfo)
    assert "dynamic assignment" in _refused(excinfo)


def test_campaign_start_names_one_unassigned_contact_in_the_singular(new_campaign: Campaign) -> None:
    ContactFactory(campaign=new_campaign)
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=new_campaign)
    assert "1 contact is not assigned" in _refused(excinfo)


def test_campaign_start_ignores_unassigned_contacts_with_dynamic_assignment(new_campaign: Campaign) -> None:
    new_campaign.use_dynamic_assignment = True
    new_campaign.save()
    ContactFactory.create_batch(3, campaign=new_campaign)
    started = campaign_start(campaign=new_campaign)
    assert started.is_started


def test_campaign_start_ignores_unassigned_contacts_that_need_no_first_message(
    new_campaign: Campaign, texter: User
) -> None:
    # They can't be assigned (contacts_assign takes only contacts needing a first message), so
    # counting them would keep the campaign from ever starting.
    ContactFactory(campaign=new_campaign, assignment=AssignmentFactory(campaign=new_campaign, texter=texter))
    ContactFactory(campaign=new_campaign, status=ContactStatus.CLOSED)
    ContactFactory(campaign=new_campaign, status=ContactStatus.CLOSED, is_opted_out=True)
    assert campaign_start(campaign=new_campaign).is_started


def test_campaign_start_refuses_an_archived_campaign(new_campaign: Campaign, texter: User) -> None:
    ContactFactory(campaign=new_campaign, assignment=AssignmentFactory(campaign=new_campaign, texter=texter))
    campaign_archive(campaign=new_campaign)
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=new_campaign)
    assert "archived" in _refused(excinfo)
    new_campaign.refresh_from_db()
    assert not new_campaign.is_started


def test_campaign_start_names_every_problem_at_once(organization: Organization) -> None:
    campaign = CampaignFactory(organization=organization, is_started=False, started_at=None, is_archived=True)
    with pytest.raises(ApplicationError) as excinfo:
        campaign_start(campaign=campaign)
    message = _refused(excinfo)
    assert "archived" in message
    assert "no contacts" in message
    assert "no script" in message


@time_machine.travel(NOW, tick=False)
def test_campaign_start_starts_a_ready_campaign(
    new_campaign: Campaign, texter: User, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    ContactFactory.create_batch(
        2, campaign=new_campaign, assignment=AssignmentFactory(campaign=new_campaign, texter=texter)
    )

    started = campaign_start(campaign=new_campaign)

    assert started.is_started
    assert started.started_at == NOW
    # The caller's instance is brought up to date too.
    assert new_campaign.is_started
    assert new_campaign.started_at == NOW
    new_campaign.refresh_from_db()
    assert new_campaign.is_started
    assert new_campaign.started_at == NOW
    assert (f"texter.{texter.pk}", "assignments_changed", {"campaign_id": new_campaign.pk}) in published
    assert (f"campaign.{new_campaign.pk}", "campaign_changed", {"campaign_id": new_campaign.pk}) in published


def test_campaign_start_is_idempotent(new_campaign: Campaign, texter: User) -> None:
    ContactFactory(campaign=new_campaign, assignment=AssignmentFactory(campaign=new_campaign, texter=texter))
    with time_machine.travel(NOW, tick=False):
        campaign_start(campaign=new_campaign)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        # An unassigned contact arriving later does not make starting again fail.
        ContactFactory(campaign=new_campaign)
        again = campaign_start(campaign=new_campaign)
    assert again.is_started
    assert again.started_at == NOW
    new_campaign.refresh_from_db()
    assert new_campaign.started_at == NOW


def test_campaign_archive_and_unarchive(campaign: Campaign, published: list[tuple[str, str, dict[str, Any]]]) -> None:
    archived = campaign_archive(campaign=campaign)
    assert archived.is_archived
    campaign.refresh_from_db()
    assert campaign.is_archived
    assert not campaign.is_active

    campaign_archive(campaign=campaign, archived=False)
    assert not campaign.is_archived
    campaign.refresh_from_db()
    assert not campaign.is_archived
    assert campaign.is_active
    assert [event for _, event, _ in published].count("campaign_changed") == 2


# --- script -------------------------------------------------------------------------------------


def test_script_set_first_message_creates_the_root(organization: Organization) -> None:
    campaign = CampaignFactory(organization=organization)
    root = script_set_first_message(campaign=campaign, script="Hi {firstName}!", question="Will you vote?")
    assert root.parent_id is None
    assert root.campaign_id == campaign.pk
    assert (root.script, root.question) == ("Hi {firstName}!", "Will you vote?")


def test_script_set_first_message_without_a_question_creates_a_root_with_none(organization: Organization) -> None:
    campaign = CampaignFactory(organization=organization)
    root = script_set_first_message(campaign=campaign, script="Hi!")
    root.refresh_from_db()
    assert root.question == ""


def test_script_set_first_message_updates_the_single_root(campaign: Campaign, root_step: InteractionStep) -> None:
    root = script_set_first_message(campaign=campaign, script="New words", question="New question?")
    assert root.pk == root_step.pk
    assert InteractionStep.objects.filter(campaign=campaign, parent__isnull=True).count() == 1
    root_step.refresh_from_db()
    assert (root_step.script, root_step.question) == ("New words", "New question?")
    assert root_step.children.count() == 2  # the answers stay


def test_script_set_first_message_keeps_the_question_when_none_is_given(
    campaign: Campaign, root_step: InteractionStep
) -> None:
    script_set_first_message(campaign=campaign, script="Reworded")
    root_step.refresh_from_db()
    assert root_step.script == "Reworded"
    assert root_step.question == "Can we count on your vote?"


def test_script_set_first_message_can_clear_the_question(campaign: Campaign, root_step: InteractionStep) -> None:
    script_set_first_message(campaign=campaign, script="Reworded", question="")
    root_step.refresh_from_db()
    assert root_step.question == ""


def test_script_add_answer_adds_a_child_at_the_end(campaign: Campaign, root_step: InteractionStep) -> None:
    answer = script_add_answer(parent=root_step, answer_option="  Maybe ", script="No problem!", question="Remind?")
    assert answer.parent_id == root_step.pk
    assert answer.campaign_id == campaign.pk
    assert answer.answer_option == "Maybe"
    assert (answer.script, answer.question) == ("No problem!", "Remind?")
    assert [step.answer_option for step in root_step.children.all()] == ["Yes", "No", "Maybe"]


@pytest.mark.parametrize("label", ["", "   "])
def test_script_add_answer_refuses_a_blank_label(root_step: InteractionStep, label: str) -> None:
    with pytest.raises(ApplicationError):
        script_add_answer(parent=root_step, answer_option=label, script="Hmm")
    assert root_step.children.count() == 2


def test_canned_response_create_appends(campaign: Campaign) -> None:
    response = canned_response_create(campaign=campaign, title="Hours", text="Polls open at 7.")
    assert response.position == 1
    assert list(CannedResponse.objects.filter(campaign=campaign).values_list("title", flat=True))[-1] == "Hours"


# --- assignments --------------------------------------------------------------------------------


def test_contacts_assign_gives_exactly_n_unassigned_contacts_needing_a_first_message(
    campaign: Campaign, texter: User, other_texter: User, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    pool = ContactFactory.create_batch(10, campaign=campaign)
    theirs = ContactFactory(campaign=campaign, assignment=AssignmentFactory(campaign=campaign, texter=other_texter))
    opted_out = ContactFactory(campaign=campaign, is_opted_out=True)
    messaged = ContactFactory(campaign=campaign, status=ContactStatus.MESSAGED)
    other_campaign = ContactFactory(campaign=CampaignFactory(organization=campaign.organization))

    assigned = contacts_assign(campaign=campaign, texter=texter, count=4)

    assert assigned == 4
    assignment = Assignment.objects.get(campaign=campaign, texter=texter)
    mine = set(Contact.objects.filter(assignment=assignment).values_list("id", flat=True))
    assert len(mine) == 4
    assert mine <= {contact.pk for contact in pool}
    for contact in (theirs, opted_out, messaged, other_campaign):
        before = contact.assignment_id
        contact.refresh_from_db()
        assert contact.assignment_id == before
    assert published == [(f"texter.{texter.pk}", "assignments_changed", {"campaign_id": campaign.pk})]


def test_contacts_assign_adds_to_the_texters_existing_assignment(campaign: Campaign, texter: User) -> None:
    ContactFactory.create_batch(5, campaign=campaign)
    assert contacts_assign(campaign=campaign, texter=texter, count=2) == 2
    assert contacts_assign(campaign=campaign, texter=texter, count=2) == 2
    assert Assignment.objects.filter(campaign=campaign, texter=texter).count() == 1
    assert Contact.objects.filter(assignment__texter=texter).count() == 4


def test_contacts_assign_gives_what_is_left_when_asked_for_more(campaign: Campaign, texter: User) -> None:
    ContactFactory.create_batch(3, campaign=campaign)
    assert contacts_assign(campaign=campaign, texter=texter, count=50) == 3
    assert contacts_assign(campaign=campaign, texter=texter, count=50) == 0


def test_contacts_assign_zero_creates_the_assignment_only(
    campaign: Campaign, texter: User, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    ContactFactory.create_batch(3, campaign=campaign)
    assert contacts_assign(campaign=campaign, texter=texter, count=0) == 0
    assert Assignment.objects.filter(campaign=campaign, texter=texter).exists()
    assert not Contact.objects.filter(campaign=campaign, assignment__isnull=False).exists()
    assert published == []


def test_contacts_assign_refuses_a_negative_count(campaign: Campaign, texter: User) -> None:
    ContactFactory.create_batch(3, campaign=campaign)
    with pytest.raises(ApplicationError):
        contacts_assign(campaign=campaign, texter=texter, count=-1)
    assert not Assignment.objects.filter(campaign=campaign, texter=texter).exists()


def test_contacts_assign_refuses_an_archived_campaign(campaign: Campaign, texter: User) -> None:
    ContactFactory.create_batch(3, campaign=campaign)
    campaign_archive(campaign=campaign)
    with pytest.raises(ApplicationError) as excinfo:
        contacts_assign(campaign=campaign, texter=texter, count=2)
    assert "archived" in _refused(excinfo)
    assert not Contact.objects.filter(campaign=campaign, assignment__isnull=False).exists()


def test_contacts_assign_costs_the_same_statements_for_any_count(campaign: Campaign, texter: User) -> None:
    ContactFactory.create_batch(60, campaign=campaign)
    contacts_assign(campaign=campaign, texter=texter, count=0)  # the assignment exists for both runs
    counts = []
    for count in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            assert contacts_assign(campaign=campaign, texter=texter, count=count) == count
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


def test_contacts_split_evenly_shares_ten_among_three_as_four_three_three(
    campaign: Campaign, texter: User, other_texter: User
) -> None:
    third = UserFactory()
    ContactFactory.create_batch(10, campaign=campaign)

    shares = contacts_split_evenly(campaign=campaign, texters=[texter, other_texter, third])

    assert shares == {texter.pk: 4, other_texter.pk: 3, third.pk: 3}
    assert not Contact.objects.filter(campaign=campaign, assignment__isnull=True).exists()
    for person, expected in ((texter, 4), (other_texter, 3), (third, 3)):
        assert Contact.objects.filter(assignment__campaign=campaign, assignment__texter=person).count() == expected


def test_contacts_split_evenly_gives_nothing_when_nothing_is_left(campaign: Campaign, texter: User) -> None:
    assert contacts_split_evenly(campaign=campaign, texters=[texter]) == {texter.pk: 0}


def test_contacts_split_evenly_needs_a_texter(campaign: Campaign) -> None:
    ContactFactory.create_batch(2, campaign=campaign)
    with pytest.raises(ApplicationError):
        contacts_split_evenly(campaign=campaign, texters=[])


def test_assignment_unassign_returns_only_unsent_contacts_to_the_pool(
    assignment: Assignment, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    campaign = assignment.campaign
    unsent = ContactFactory.create_batch(2, campaign=campaign, assignment=assignment)
    conversations = [
        ContactFactory(campaign=campaign, assignment=assignment, status=status)
        for status in (ContactStatus.MESSAGED, ContactStatus.NEEDS_RESPONSE, ContactStatus.CONVO, ContactStatus.CLOSED)
    ]

    released = assignment_unassign(assignment=assignment)

    assert released == 2
    for contact in unsent:
        contact.refresh_from_db()
        assert contact.assignment_id is None
    for contact in conversations:
        contact.refresh_from_db()
        assert contact.assignment_id == assignment.pk
    assert Assignment.objects.filter(pk=assignment.pk).exists()
    assert published == [(f"texter.{assignment.texter_id}", "assignments_changed", {"campaign_id": campaign.pk})]


# --- opt-outs -----------------------------------------------------------------------------------


@pytest.fixture
def same_cell(
    campaign: Campaign, assignment: Assignment, organization: Organization, other_organization: Organization
) -> dict[str, Contact]:
    """One person in two campaigns of the organization and in a campaign of another organization."""
    return {
        "assigned": ContactFactory(campaign=campaign, assignment=assignment, cell=CELL, status=ContactStatus.CONVO),
        "sister": ContactFactory(campaign=CampaignFactory(organization=organization), cell=CELL),
        "foreign": ContactFactory(campaign=CampaignFactory(organization=other_organization), cell=CELL),
        "neighbour": ContactFactory(campaign=campaign, assignment=assignment, cell="+12025550176"),
    }


def test_optout_create_records_the_opt_out_and_its_event(
    organization: Organization, texter: User, same_cell: dict[str, Contact]
) -> None:
    optout = optout_create(
        organization=organization, cell=CELL, source=OptOutSource.TEXTER, reason="asked", acting_user=texter
    )
    assert (optout.organization_id, optout.cell, optout.source, optout.created_by) == (
        organization.pk,
        CELL,
        OptOutSource.TEXTER,
        texter,
    )
    event = OptOutEvent.objects.get(organization=organization, cell=CELL)
    assert event.action == OptOutEvent.Action.OPT_OUT
    assert (event.source, event.reason, event.created_by) == (OptOutSource.TEXTER, "asked", texter)


def test_optout_create_closes_the_cell_in_every_campaign_of_the_organization_only(
    organization: Organization, same_cell: dict[str, Contact], published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)

    for key in ("assigned", "sister"):
        contact = same_cell[key]
        contact.refresh_from_db()
        assert contact.is_opted_out, key
        assert contact.status == ContactStatus.CLOSED, key
    for key in ("foreign", "neighbour"):
        contact = same_cell[key]
        contact.refresh_from_db()
        assert not contact.is_opted_out, key
        assert contact.status == ContactStatus.NEEDS_MESSAGE, key
    assert not OptOut.objects.exclude(organization=organization).exists()
    texter_id = same_cell["assigned"].assignment.texter_id
    assert published == [(f"texter.{texter_id}", "contact_changed", {"contact_id": same_cell["assigned"].pk})]


def test_optout_create_accepts_the_organizations_id(organization: Organization, same_cell: dict[str, Contact]) -> None:
    optout_create(organization=organization.pk, cell=CELL, source=OptOutSource.PROVIDER)
    same_cell["sister"].refresh_from_db()
    assert same_cell["sister"].is_opted_out


def test_optout_create_reads_a_typed_number_as_the_stored_e164(
    organization: Organization, same_cell: dict[str, Contact]
) -> None:
    optout = optout_create(organization=organization, cell="(202) 555-0175", source=OptOutSource.ORGANIZER)
    assert optout.cell == CELL
    same_cell["assigned"].refresh_from_db()
    assert same_cell["assigned"].is_opted_out


def test_optout_create_is_idempotent(organization: Organization, owner: User, same_cell: dict[str, Contact]) -> None:
    first = optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)
    second = optout_create(organization=organization, cell=CELL, source=OptOutSource.ORGANIZER, acting_user=owner)
    assert second.pk == first.pk
    assert second.source == OptOutSource.KEYWORD
    assert OptOut.objects.filter(organization=organization, cell=CELL).count() == 1
    assert OptOutEvent.objects.filter(organization=organization, cell=CELL).count() == 1


def test_optout_create_again_closes_a_contact_added_since(
    organization: Organization, same_cell: dict[str, Contact]
) -> None:
    optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)
    late = ContactFactory(campaign=CampaignFactory(organization=organization), cell=CELL)
    optout_create(organization=organization, cell=CELL, source=OptOutSource.PROVIDER)
    late.refresh_from_db()
    assert late.is_opted_out
    assert late.status == ContactStatus.CLOSED
    assert OptOutEvent.objects.filter(organization=organization, cell=CELL).count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_optout_remove_requires_a_reason(organization: Organization, owner: User, reason: str) -> None:
    optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)
    with pytest.raises(ApplicationError):
        optout_remove(organization=organization, cell=CELL, reason=reason, acting_user=owner)
    assert OptOut.objects.filter(organization=organization, cell=CELL).exists()


def test_optout_remove_opts_back_in_and_leaves_contacts_closed(
    organization: Organization, owner: User, same_cell: dict[str, Contact]
) -> None:
    optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)

    assert optout_remove(organization=organization, cell=CELL, reason="asked by phone", acting_user=owner) is True

    assert not OptOut.objects.filter(organization=organization, cell=CELL).exists()
    opt_in = OptOutEvent.objects.get(organization=organization, cell=CELL, action=OptOutEvent.Action.OPT_IN)
    assert (opt_in.source, opt_in.reason, opt_in.created_by) == (OptOutSource.ORGANIZER, "asked by phone", owner)
    assert OptOutEvent.objects.filter(organization=organization, cell=CELL).count() == 2  # the audit trail keeps both
    for key in ("assigned", "sister"):
        contact = same_cell[key]
        contact.refresh_from_db()
        assert not contact.is_opted_out, key
        assert contact.status == ContactStatus.CLOSED, key


def test_optout_remove_by_keyword_is_recorded_as_a_keyword(organization: Organization) -> None:
    optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)
    assert optout_remove(organization=organization, cell=CELL, reason="texted START", acting_user=None)
    opt_in = OptOutEvent.objects.get(action=OptOutEvent.Action.OPT_IN)
    assert opt_in.source == OptOutSource.KEYWORD
    assert opt_in.created_by is None


def test_optout_remove_reads_a_typed_number_as_the_stored_e164(organization: Organization, owner: User) -> None:
    optout_create(organization=organization, cell=CELL, source=OptOutSource.KEYWORD)
    assert optout_remove(organization=organization, cell="202-555-0175", reason="asked", acting_user=owner)
    assert not OptOut.objects.exists()


def test_optout_remove_returns_false_when_not_opted_out(
    organization: Organization, other_organization: Organization, owner: User
) -> None:
    optout_create(organization=other_organization, cell=CELL, source=OptOutSource.KEYWORD)
    assert optout_remove(organization=organization, cell=CELL, reason="asked", acting_user=owner) is False
    assert not OptOutEvent.objects.filter(action=OptOutEvent.Action.OPT_IN).exists()
    assert OptOut.objects.filter(organization=other_organization, cell=CELL).exists()


# --- survey answers -----------------------------------------------------------------------------


@pytest.fixture
def steps(root_step: InteractionStep) -> dict[str, InteractionStep]:
    yes = root_step.children.get(answer_option="Yes")
    return {
        "yes": yes,
        "no": root_step.children.get(answer_option="No"),
        "needs_ride": yes.children.get(answer_option="Needs ride"),
    }


def test_question_response_set_records_the_answer_to_the_parent_question(
    contact: Contact, root_step: InteractionStep, steps: dict[str, InteractionStep]
) -> None:
    response = question_response_set(contact=contact, step=steps["yes"])
    assert (response.contact_id, response.interaction_step_id, response.value) == (contact.pk, root_step.pk, "Yes")


def test_question_response_set_records_answers_down_the_tree(
    contact: Contact, root_step: InteractionStep, steps: dict[str, InteractionStep]
) -> None:
    question_response_set(contact=contact, step=steps["yes"])
    question_response_set(contact=contact, step=steps["needs_ride"])
    answers = dict(QuestionResponse.objects.filter(contact=contact).values_list("interaction_step_id", "value"))
    assert answers == {root_step.pk: "Yes", steps["yes"].pk: "Needs ride"}


def test_changing_an_answer_replaces_it_and_drops_the_answers_below_the_old_one(
    contact: Contact, root_step: InteractionStep, steps: dict[str, InteractionStep]
) -> None:
    question_response_set(contact=contact, step=steps["yes"])
    question_response_set(contact=contact, step=steps["needs_ride"])

    question_response_set(contact=contact, step=steps["no"])

    answers = dict(QuestionResponse.objects.filter(contact=contact).values_list("interaction_step_id", "value"))
    assert answers == {root_step.pk: "No"}


def test_giving_the_same_answer_again_keeps_the_answers_below_it(
    contact: Contact, steps: dict[str, InteractionStep]
) -> None:
    question_response_set(contact=contact, step=steps["yes"])
    question_response_set(contact=contact, step=steps["needs_ride"])
    question_response_set(contact=contact, step=steps["yes"])
    assert QuestionResponse.objects.filter(contact=contact).count() == 2


def test_changing_an_answer_drops_the_answers_below_it_even_after_a_relabel(
    contact: Contact, root_step: InteractionStep, steps: dict[str, InteractionStep]
) -> None:
    question_response_set(contact=contact, step=steps["yes"])
    question_response_set(contact=contact, step=steps["needs_ride"])
    InteractionStep.objects.filter(pk=steps["yes"].pk).update(answer_option="Yes!")

    question_response_set(contact=contact, step=steps["no"])

    assert list(QuestionResponse.objects.filter(contact=contact).values_list("value", flat=True)) == ["No"]


def test_changing_an_answer_leaves_other_contacts_answers_alone(
    contact: Contact, steps: dict[str, InteractionStep]
) -> None:
    neighbour = ContactFactory(campaign=contact.campaign, assignment=contact.assignment)
    for person in (contact, neighbour):
        question_response_set(contact=person, step=steps["yes"])
        question_response_set(contact=person, step=steps["needs_ride"])
    question_response_set(contact=contact, step=steps["no"])
    assert QuestionResponse.objects.filter(contact=neighbour).count() == 2


def test_question_response_set_refuses_an_answer_from_another_campaign(
    contact: Contact, organization: Organization
) -> None:
    other_root = InteractionStepFactory(campaign=CampaignFactory(organization=organization))
    foreign = InteractionStepFactory(campaign=other_root.campaign, parent=other_root, answer_option="Yes")
    with pytest.raises(ApplicationError) as excinfo:
        question_response_set(contact=contact, step=foreign)
    assert excinfo.value.status == 404
    assert not QuestionResponse.objects.exists()


def test_question_response_set_refuses_the_root(contact: Contact, root_step: InteractionStep) -> None:
    with pytest.raises(ApplicationError):
        question_response_set(contact=contact, step=root_step)
    assert not QuestionResponse.objects.exists()


# --- conversation state -------------------------------------------------------------------------


def test_contact_close(contact: Contact) -> None:
    contact_close(contact=contact)
    assert contact.status == ContactStatus.CLOSED
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CLOSED


def test_contact_reopen_makes_a_closed_conversation_active_again(contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.CLOSED)
    contact.refresh_from_db()
    contact_reopen(contact=contact)
    assert contact.status == ContactStatus.CONVO
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CONVO


def test_contact_reopen_refuses_an_opted_out_contact(organization: Organization, contact: Contact) -> None:
    optout_create(organization=organization, cell=contact.cell, source=OptOutSource.KEYWORD)
    contact.refresh_from_db()
    with pytest.raises(ApplicationError):
        contact_reopen(contact=contact)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CLOSED


@pytest.mark.parametrize("status", [ContactStatus.NEEDS_MESSAGE, ContactStatus.NEEDS_RESPONSE, ContactStatus.MESSAGED])
def test_contact_reopen_leaves_an_open_contact_as_it_is(contact: Contact, status: ContactStatus) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=status)
    contact.refresh_from_db()
    contact_reopen(contact=contact)
    contact.refresh_from_db()
    assert contact.status == status


def test_contact_tags_set_adds_only_the_organizations_tags(
    contact: Contact, organization: Organization, other_organization: Organization, texter: User
) -> None:
    ours = TagFactory.create_batch(2, organization=organization)
    theirs = TagFactory(organization=other_organization)

    result = contact_tags_set(contact=contact, tag_ids=[ours[1].pk, theirs.pk, ours[0].pk], acting_user=texter)

    assert result == sorted(tag.pk for tag in ours)
    assert set(contact.tags.values_list("id", flat=True)) == {tag.pk for tag in ours}
    assert set(ContactTag.objects.filter(contact=contact).values_list("created_by", flat=True)) == {texter.pk}


def test_contact_tags_set_removes_tags_no_longer_wanted(contact: Contact, organization: Organization) -> None:
    first, second, third = TagFactory.create_batch(3, organization=organization)
    contact_tags_set(contact=contact, tag_ids=[first.pk, second.pk], acting_user=None)

    assert contact_tags_set(contact=contact, tag_ids=[second.pk, third.pk], acting_user=None) == sorted(
        [second.pk, third.pk]
    )
    assert set(contact.tags.values_list("id", flat=True)) == {second.pk, third.pk}

    assert contact_tags_set(contact=contact, tag_ids=[], acting_user=None) == []
    assert not ContactTag.objects.filter(contact=contact).exists()


def test_contact_tags_set_leaves_other_contacts_tags_alone(contact: Contact, organization: Organization) -> None:
    tag = TagFactory(organization=organization)
    neighbour = ContactFactory(campaign=contact.campaign)
    contact_tags_set(contact=neighbour, tag_ids=[tag.pk], acting_user=None)
    contact_tags_set(contact=contact, tag_ids=[tag.pk], acting_user=None)
    contact_tags_set(contact=contact, tag_ids=[], acting_user=None)
    assert list(neighbour.tags.values_list("id", flat=True)) == [tag.pk]
