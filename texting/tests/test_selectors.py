from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Membership, Role, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, InteractionStep
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory
from texting import selectors

pytestmark = pytest.mark.django_db

NY_NIGHT = dt.datetime(2024, 6, 2, 3, 0, tzinfo=dt.UTC)  # 23:00 in New York, 20:00 in Los Angeles


def steps_of(campaign: Campaign) -> dict[str, InteractionStep]:
    steps = {str(s): s for s in InteractionStep.objects.filter(campaign=campaign)}
    steps["root"] = InteractionStep.objects.get(campaign=campaign, parent__isnull=True)
    return steps


def test_survey_starts_at_the_first_question(campaign: Campaign) -> None:
    path = selectors.survey_path(InteractionStep.objects.filter(campaign=campaign), {})
    assert [q.question for q in path] == ["Can we count on your vote?"]
    assert [a.answer_option for a in path[0].answers] == ["Yes", "No"]
    assert path[0].chosen is None


def test_survey_follows_each_chosen_answer_to_the_next_question(campaign: Campaign) -> None:
    s = steps_of(campaign)
    path = selectors.survey_path(s.values(), {s["root"].pk: "Yes"})
    assert [q.question for q in path] == ["Can we count on your vote?", "Need a ride?"]
    assert path[0].chosen == s["Yes"]
    assert path[1].chosen is None


def test_survey_ends_at_an_answer_without_a_question(campaign: Campaign) -> None:
    s = steps_of(campaign)
    assert [q.question for q in selectors.survey_path(s.values(), {s["root"].pk: "No"})] == [
        "Can we count on your vote?"
    ]
    path = selectors.survey_path(s.values(), {s["root"].pk: "Yes", s["Yes"].pk: "Needs ride"})
    assert [q.chosen.answer_option for q in path if q.chosen] == ["Yes", "Needs ride"]


def test_survey_ignores_an_answer_that_is_no_longer_in_the_script(campaign: Campaign) -> None:
    s = steps_of(campaign)
    path = selectors.survey_path(s.values(), {s["root"].pk: "Renamed answer"})
    assert len(path) == 1
    assert path[0].chosen is None


def test_accent_shade_is_readable_with_white_text() -> None:
    for color in ["#209556", "#ffee00", "#ffffff", "#2563eb", "#000000"]:
        colors = selectors.accent_colors(color)
        rgb = tuple(int(colors["accent_strong"][i : i + 2], 16) for i in (1, 3, 5))
        assert 1.05 / (selectors._luminance(rgb) + 0.05) >= 4.5, color
    assert selectors.accent_colors("#000000")["accent_strong"] == "#000000"
    for bad in ["red; background: url(x)", "#aabbcc\n", "#abc", ""]:
        assert selectors.accent_colors(bad)["accent"] == selectors.DEFAULT_ACCENT


def test_intro_html_keeps_formatting_and_drops_scripts() -> None:
    cleaned = selectors.intro_html_clean(
        '<p onclick="x()">Hi <a href="https://example.org" target="_blank">here</a></p><script>alert(1)</script>'
    )
    assert cleaned.startswith("<p>Hi <a")
    assert 'rel="noopener noreferrer nofollow"' in cleaned
    assert "script" not in cleaned
    assert "onclick" not in cleaned


def test_counts_evaluate_texting_hours_in_each_contacts_timezone(assignment: Assignment) -> None:
    organization = assignment.campaign.organization
    organization.texting_hours_enforced = True
    organization.save()
    Campaign.objects.filter(pk=assignment.campaign_id).update(timezone="America/Los_Angeles")
    assignment.campaign.refresh_from_db()
    ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/New_York")
    ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/Los_Angeles")
    ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="")  # the campaign's: LA
    ContactFactory(
        campaign=assignment.campaign,
        assignment=assignment,
        timezone="America/New_York",
        status=ContactStatus.NEEDS_RESPONSE,
    )
    counts = selectors.assignment_counts(assignment=assignment, now=NY_NIGHT)
    assert (counts.to_send, counts.outside_hours, counts.sendable) == (3, 1, 2)
    assert (counts.needs_response, counts.replies_outside_hours, counts.answerable) == (1, 1, 0)


def test_campaign_hours_override_the_organizations(assignment: Assignment) -> None:
    Campaign.objects.filter(pk=assignment.campaign_id).update(
        override_org_texting_hours=True, texting_hours_enforced=True, texting_hours_start=8, texting_hours_end=24
    )
    assignment.campaign.refresh_from_db()
    ContactFactory(campaign=assignment.campaign, assignment=assignment, timezone="America/New_York")
    assert selectors.assignment_counts(assignment=assignment, now=NY_NIGHT).outside_hours == 0


def test_todo_list_selector_is_three_statements_at_any_size(
    texter: User, assignment: Assignment, assert_statements: Callable[..., Any]
) -> None:
    with assert_statements(3):
        selectors.todo_list_for_texter(user=texter)
    for _ in range(4):
        other = AssignmentFactory(
            texter=texter, campaign=CampaignFactory(organization=assignment.campaign.organization)
        )
        ContactFactory.create_batch(5, campaign=other.campaign, assignment=other, timezone="America/Chicago")
    with assert_statements(3):
        todos = selectors.todo_list_for_texter(user=texter)
    assert [card.counts.to_send for card in todos.cards].count(5) == 4


def test_todo_list_of_a_user_without_memberships_is_one_statement(
    assert_statements: Callable[..., Any], db: None
) -> None:
    user = User.objects.create_user(email="nobody@example.com")
    with assert_statements(1):
        todos = selectors.todo_list_for_texter(user=user)
    assert todos.cards == []


def test_suspended_texter_has_no_assignments(texter: User, assignment: Assignment, contact: Contact) -> None:
    Membership.objects.filter(user=texter).update(role=Role.SUSPENDED)
    assert not selectors.assignments_for_texter(user=texter).exists()
    assert selectors.contact_get_for_texter(user=texter, contact_id=contact.pk) is None
    assert selectors.contact_get_for_texter(user=texter, contact_id=contact.pk, active_campaign=False) is None


def test_reply_cursor_round_trips(contact: Contact) -> None:
    cursor = selectors.reply_cursor(contact)
    assert selectors.parse_reply_cursor(cursor) == (contact.updated_at, contact.pk)
    for bad in ["", None, "abc", "12-", "-3", "1.5-2"]:
        assert selectors.parse_reply_cursor(bad) is None


def test_contact_panel_shows_local_time_with_daylight_saving(contact: Contact, campaign: Campaign) -> None:
    info = selectors.contact_info(contact=contact, campaign=campaign, now=NY_NIGHT)
    assert (info.local_time, info.timezone_abbr) == ("11:00 pm", "EDT")
    winter = selectors.contact_info(
        contact=contact, campaign=campaign, now=dt.datetime(2024, 1, 2, 17, 5, tzinfo=dt.UTC)
    )
    assert (winter.local_time, winter.timezone_abbr) == ("12:05 pm", "EST")
