"""Reads for the organizer's campaign pages: what they count, and in how many statements."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from accounts.models import Organization, Role, User
from campaigns.models import Assignment, Campaign, ContactStatus, InteractionStep, QuestionResponse
from campaigns.selectors import (
    AnswerCount,
    campaign_custom_field_keys,
    contact_count_unassigned,
    contact_counts_for_campaign,
    interaction_step_root,
    interaction_steps_in_tree_order,
    survey_results_for_campaign,
    texter_list_for_campaign,
)
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

AssertStatements = Callable[[int], AbstractContextManager[Any]]


def steps_of(campaign: Campaign) -> dict[str, InteractionStep]:
    """The conftest campaign's steps by name: root, yes, no, ride."""
    steps = InteractionStep.objects.filter(campaign=campaign)
    root = steps.get(parent__isnull=True)
    return {
        "root": root,
        "yes": steps.get(answer_option="Yes"),
        "no": steps.get(answer_option="No"),
        "ride": steps.get(answer_option="Needs ride"),
    }


# --- Script ------------------------------------------------------------------------------------


def test_root_step_is_the_first_message(campaign: Campaign) -> None:
    root = interaction_step_root(campaign=campaign)
    assert root is not None and root.parent_id is None
    assert root.script.startswith("Hi {firstName}")
    assert interaction_step_root(campaign=CampaignFactory(organization=campaign.organization)) is None


def test_steps_come_depth_first_with_the_answers_leading_to_them(campaign: Campaign) -> None:
    steps = steps_of(campaign)
    ordered = interaction_steps_in_tree_order(steps=list(InteractionStep.objects.filter(campaign=campaign)))
    assert ordered == [
        (steps["root"], []),
        (steps["yes"], ["Yes"]),
        (steps["ride"], ["Yes", "Needs ride"]),
        (steps["no"], ["No"]),
    ]


def test_steps_cut_off_from_the_root_are_listed_last(campaign: Campaign) -> None:
    steps = steps_of(campaign)
    # Without the root, its answers hang from nothing: still shown, after what the tree reaches.
    ordered = interaction_steps_in_tree_order(steps=[steps["ride"], steps["yes"], steps["no"]])
    assert ordered == [(steps["ride"], ["Needs ride"]), (steps["yes"], ["Yes"]), (steps["no"], ["No"])]


# --- Contacts ----------------------------------------------------------------------------------


def test_contact_counts_by_status_with_opted_out_and_unassigned(
    campaign: Campaign, assignment: Assignment, assert_statements: AssertStatements
) -> None:
    ContactFactory.create_batch(2, campaign=campaign, assignment=assignment)
    ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
    ContactFactory(campaign=campaign, status=ContactStatus.CLOSED, is_opted_out=True)
    ContactFactory(campaign=campaign)
    ContactFactory(campaign=CampaignFactory(organization=campaign.organization))  # another campaign's

    with assert_statements(1):
        counts = contact_counts_for_campaign(campaign=campaign)

    assert counts.total == 5
    assert counts.by_status == {
        ContactStatus.NEEDS_MESSAGE: 3,
        ContactStatus.MESSAGED: 0,
        ContactStatus.NEEDS_RESPONSE: 1,
        ContactStatus.CONVO: 0,
        ContactStatus.CLOSED: 1,
    }
    assert (counts.opted_out, counts.unassigned) == (1, 2)


def test_contact_counts_of_an_empty_campaign_are_zero(organization: Organization) -> None:
    counts = contact_counts_for_campaign(campaign=CampaignFactory(organization=organization))
    assert counts.total == counts.opted_out == counts.unassigned == 0
    assert set(counts.by_status) == set(ContactStatus.values)


def test_unassigned_count_is_only_contacts_an_organizer_can_assign(campaign: Campaign, assignment: Assignment) -> None:
    ContactFactory.create_batch(2, campaign=campaign)
    ContactFactory(campaign=campaign, assignment=assignment)  # has a texter
    ContactFactory(campaign=campaign, is_opted_out=True)  # opted out
    ContactFactory(campaign=campaign, status=ContactStatus.CLOSED)  # nothing left to send
    ContactFactory(campaign=CampaignFactory(organization=campaign.organization))  # another campaign's
    assert contact_count_unassigned(campaign=campaign) == 2


def test_custom_field_keys_come_from_the_first_and_last_contacts(
    campaign: Campaign, assert_statements: AssertStatements
) -> None:
    ContactFactory(campaign=campaign, custom_fields={"ward": "3", "precinct": "12"})
    ContactFactory(campaign=campaign, custom_fields={"never": "read"})  # neither first nor last
    ContactFactory(campaign=campaign, custom_fields={"ward": "4", "pollingPlace": "School"})

    with assert_statements(2):
        assert campaign_custom_field_keys(campaign=campaign) == ["pollingPlace", "precinct", "ward"]
    with assert_statements(0):  # remembered on the campaign for the rest of the page
        assert campaign_custom_field_keys(campaign=campaign) == ["pollingPlace", "precinct", "ward"]


def test_a_campaign_without_contacts_has_no_custom_fields(organization: Organization) -> None:
    assert campaign_custom_field_keys(campaign=CampaignFactory(organization=organization)) == []


# --- Survey results ----------------------------------------------------------------------------


def test_survey_results_count_each_answer_per_question(
    campaign: Campaign, assignment: Assignment, assert_statements: AssertStatements
) -> None:
    steps = steps_of(campaign)
    contacts = ContactFactory.create_batch(4, campaign=campaign, assignment=assignment)
    for contact, value in zip(contacts, ["Yes", "Yes", "No", "Maybe"], strict=True):
        QuestionResponse.objects.create(contact=contact, interaction_step=steps["root"], value=value)
    QuestionResponse.objects.create(contact=contacts[0], interaction_step=steps["yes"], value="Needs ride")
    other = CampaignFactory(organization=campaign.organization)
    QuestionResponse.objects.create(
        contact=ContactFactory(campaign=other),
        interaction_step=InteractionStep.objects.create(campaign=other, script="Hi", question="Other?"),
        value="Yes",
    )

    with assert_statements(2):
        results = survey_results_for_campaign(campaign=campaign)

    first, ride = results
    assert (first.question, first.asked_after, first.total) == ("Can we count on your vote?", "first message", 4)
    # The script's answers in order, then a value recorded under a label since renamed ("Maybe").
    assert first.answers == [AnswerCount("Yes", 2, 50), AnswerCount("No", 1, 25), AnswerCount("Maybe", 1, 25)]
    assert (ride.question, ride.asked_after, ride.total) == ("Need a ride?", "Yes", 1)
    assert ride.answers == [AnswerCount("Needs ride", 1, 100)]


def test_unanswered_questions_show_zero_answers(campaign: Campaign) -> None:
    first, ride = survey_results_for_campaign(campaign=campaign)
    assert first.total == 0 and first.answers == [AnswerCount("Yes", 0, 0), AnswerCount("No", 0, 0)]
    assert ride.total == 0 and ride.answers == [AnswerCount("Needs ride", 0, 0)]


# --- Texters -----------------------------------------------------------------------------------


def test_texter_list_has_every_member_with_their_counts(
    campaign: Campaign,
    owner: User,
    texter: User,
    other_texter: User,
    assignment: Assignment,
    outsider: User,
    assert_statements: AssertStatements,
) -> None:
    ContactFactory.create_batch(2, campaign=campaign, assignment=assignment)
    ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
    ContactFactory(campaign=campaign, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE, is_opted_out=True)
    ContactFactory(campaign=campaign)  # unassigned
    suspended = UserFactory(first_name="Zed")
    MembershipFactory(user=suspended, organization=campaign.organization, role=Role.SUSPENDED)

    with assert_statements(3):
        rows = texter_list_for_campaign(campaign=campaign)

    by_texter = {row.texter: row for row in rows}
    assert set(by_texter) == {owner, texter, other_texter}  # not the outsider, not the suspended
    mine = by_texter[texter]
    assert (mine.assignment_id, mine.assigned, mine.to_send, mine.needs_response) == (assignment.pk, 4, 2, 1)
    assert mine.is_member
    idle = by_texter[other_texter]
    assert (idle.assignment_id, idle.assigned, idle.to_send, idle.needs_response) == (None, 0, 0, 0)


def test_someone_who_left_the_organization_is_listed_until_their_contacts_are_taken_back(
    campaign: Campaign, texter: User, assert_statements: AssertStatements
) -> None:
    former = UserFactory(first_name="Former")
    assignment = AssignmentFactory(campaign=campaign, texter=former)
    ContactFactory(campaign=campaign, assignment=assignment)

    with assert_statements(4):
        rows = texter_list_for_campaign(campaign=campaign)

    assert [row.texter for row in rows] == [texter, former]  # members first, then former members
    assert not rows[1].is_member and (rows[1].assignment_id, rows[1].to_send) == (assignment.pk, 1)
