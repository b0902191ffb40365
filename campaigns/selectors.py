"""Reads for the organizer's campaign pages: counts, survey results and texters, each a fixed
number of statements however many contacts the campaign holds."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q

from accounts.models import User
from accounts.selectors import texters_for_organization
from campaigns.hours import TextingWindow, open_timezone_names, window_for
from campaigns.models import Assignment, Campaign, Contact, ContactStatus, InteractionStep, QuestionResponse

# --- Script ------------------------------------------------------------------------------------


def interaction_step_root(*, campaign: Campaign) -> InteractionStep | None:
    """The script's root: its `script` is the first message, its `question` the first question."""
    return InteractionStep.objects.filter(campaign=campaign, parent__isnull=True).first()


def interaction_steps_in_tree_order(*, steps: Sequence[InteractionStep]) -> list[tuple[InteractionStep, list[str]]]:
    """`steps` (one campaign's, already fetched) depth first from the root, each with the answers
    that lead to it. No statement: callers fetch the steps once for several uses."""
    children: dict[int | None, list[InteractionStep]] = defaultdict(list)
    for step in steps:
        children[step.parent_id].append(step)
    ordered: list[tuple[InteractionStep, list[str]]] = []

    def visit(step: InteractionStep, path: list[str]) -> None:
        ordered.append((step, path))
        for child in children.get(step.pk, []):
            visit(child, [*path, child.answer_option or "(unlabelled answer)"])

    for root in children.get(None, []):
        visit(root, [])
    # Steps cut off from the root (a broken tree) are still listed, at the end.
    seen = {step.pk for step, _ in ordered}
    ordered.extend((step, [step.answer_option]) for step in steps if step.pk not in seen)
    return ordered


# --- Contacts ----------------------------------------------------------------------------------


def campaign_custom_field_keys(*, campaign: Campaign) -> list[str]:
    """Custom field names of the campaign's contacts. Every contact of one upload has the same
    keys, so the first and last contact tell them without reading a million rows.

    Remembered on `campaign`: one admin page asks several times for the same campaign."""
    cached: list[str] | None = getattr(campaign, "_custom_field_keys", None)
    if cached is not None:
        return cached
    contacts = Contact.objects.filter(campaign=campaign).values_list("custom_fields", flat=True)
    keys: set[str] = set()
    for fields in [*contacts.order_by("id")[:1], *contacts.order_by("-id")[:1]]:
        keys.update(str(key) for key in (fields or {}))
    campaign._custom_field_keys = sorted(keys)  # type: ignore[attr-defined]
    return campaign._custom_field_keys  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StatusCounts:
    by_status: dict[str, int]
    total: int
    opted_out: int
    unassigned: int


def contact_counts_for_campaign(*, campaign: Campaign) -> StatusCounts:
    """The campaign's contacts by status, with how many opted out and how many have no texter (one statement)."""
    rows = (
        Contact.objects.filter(campaign=campaign)
        .order_by()
        .values("status")
        .annotate(
            n=Count("id"),
            opted_out=Count("id", filter=Q(is_opted_out=True)),
            unassigned=Count("id", filter=Q(assignment__isnull=True)),
        )
    )
    by_status = dict.fromkeys(ContactStatus.values, 0)
    opted_out = unassigned = 0
    for row in rows:
        by_status[row["status"]] = row["n"]
        opted_out += row["opted_out"]
        unassigned += row["unassigned"]
    return StatusCounts(by_status=by_status, total=sum(by_status.values()), opted_out=opted_out, unassigned=unassigned)


def contact_count_unassigned(*, campaign: Campaign) -> int:
    """Contacts with no texter that still wait for a first message (the ones an organizer can assign)."""
    return Contact.objects.filter(campaign=campaign, assignment__isnull=True).needs_message().count()


# --- Survey results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerCount:
    label: str
    count: int
    percent: int


@dataclass(frozen=True)
class QuestionResult:
    question: str
    asked_after: str
    answers: list[AnswerCount]
    total: int


def survey_results_for_campaign(*, campaign: Campaign) -> list[QuestionResult]:
    """Each question of the script with how many contacts gave each answer (two statements)."""
    steps = list(InteractionStep.objects.filter(campaign=campaign))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        QuestionResponse.objects.filter(interaction_step__campaign=campaign)
        .order_by()
        .values("interaction_step_id", "value")
        .annotate(n=Count("id"))
    ):
        counts[row["interaction_step_id"]][row["value"]] = row["n"]
    children: dict[int | None, list[InteractionStep]] = defaultdict(list)
    for step in steps:
        children[step.parent_id].append(step)
    results = []
    for step, answers_before in interaction_steps_in_tree_order(steps=steps):
        if not step.question:
            continue
        given = dict(counts.get(step.pk, {}))
        labels = [child.answer_option for child in children.get(step.pk, [])]
        # Answers recorded under a label that was since renamed or removed still count.
        labels += sorted(value for value in given if value not in labels)
        total = sum(given.values())
        answers = [
            AnswerCount(label, given.get(label, 0), round(100 * given.get(label, 0) / total) if total else 0)
            for label in labels
        ]
        results.append(
            QuestionResult(
                question=step.question,
                asked_after=" → ".join(answers_before) if answers_before else "first message",
                answers=answers,
                total=total,
            )
        )
    return results


# --- Texters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TexterRow:
    texter: User
    assignment_id: int | None
    assigned: int
    to_send: int
    needs_response: int
    is_member: bool

    @property
    def texted(self) -> int:
        """Contacts this texter has sent a first message to (or skipped)."""
        return self.assigned - self.to_send


def texter_list_for_campaign(*, campaign: Campaign) -> list[TexterRow]:
    """The organization's texters with their counts in this campaign, then anyone who left the
    organization but still holds an assignment in it (four statements in all)."""
    texters = list(texters_for_organization(organization=campaign.organization))
    assignments = {a.texter_id: a.pk for a in Assignment.objects.filter(campaign=campaign)}
    members = {texter.pk for texter in texters}
    former = [pk for pk in assignments if pk not in members]
    if former:
        # Someone removed from the organization keeps their assignment until it is taken back.
        texters += list(User.objects.filter(pk__in=former).order_by("first_name", "last_name", "email"))
    counts = {
        row["assignment_id"]: row
        for row in Contact.objects.filter(campaign=campaign, assignment__isnull=False)
        .order_by()
        .values("assignment_id")
        .annotate(
            assigned=Count("id"),
            to_send=Count("id", filter=Q(status=ContactStatus.NEEDS_MESSAGE, is_opted_out=False)),
            needs_response=Count("id", filter=Q(status=ContactStatus.NEEDS_RESPONSE, is_opted_out=False)),
        )
    }
    rows = []
    for texter in texters:
        assignment_id = assignments.get(texter.pk)
        row = counts.get(assignment_id, {})
        rows.append(
            TexterRow(
                texter=texter,
                assignment_id=assignment_id,
                assigned=row.get("assigned", 0),
                to_send=row.get("to_send", 0),
                needs_response=row.get("needs_response", 0),
                is_member=texter.pk in members,
            )
        )
    return rows


# --- Dynamic assignment ------------------------------------------------------------------------


def campaign_texting_window(*, campaign: Campaign) -> TextingWindow:
    """The campaign's texting window: its own override, else its organization's hours."""
    org = campaign.organization
    return window_for(
        override=campaign.override_org_texting_hours,
        campaign_enforced=campaign.texting_hours_enforced,
        campaign_start=campaign.texting_hours_start,
        campaign_end=campaign.texting_hours_end,
        org_enforced=org.texting_hours_enforced,
        org_start=org.texting_hours_start,
        org_end=org.texting_hours_end,
    )


def campaign_get_by_join_token(*, token: uuid.UUID | str) -> Campaign | None:
    """The campaign a join link points to, with its organization: one statement."""
    return Campaign.objects.select_related("organization").filter(join_token=token).first()


def contact_pool_open_timezones(*, campaign: Campaign, now: dt.datetime) -> list[str] | None:
    """The timezone values of contacts that may be texted now in this campaign ("" is the
    campaign's fallback zone), or None when texting hours are not enforced: worked out from the
    clock without reading the pool, so asking for more costs the same with a million unassigned
    contacts as with ten."""
    window = campaign_texting_window(campaign=campaign)
    if not window.enforced:
        return None
    fallback = campaign.timezone or campaign.organization.default_timezone
    return open_timezone_names(window=window, fallback=fallback, now=now)


def assignment_contact_total(*, assignment: Assignment) -> int:
    """Every contact the texter holds in the campaign, whatever its status (the max-per-texter cap)."""
    return Contact.objects.filter(assignment=assignment).count()


def script_tree(*, campaign: Campaign) -> dict[str, object]:
    """The script as nested dicts for the script editor (one statement): the root holds the first
    message and question; each child is an answer with its script, next question and children."""
    steps = list(InteractionStep.objects.filter(campaign=campaign).order_by("position", "id"))
    children: dict[int | None, list[InteractionStep]] = defaultdict(list)
    for step in steps:
        children[step.parent_id].append(step)

    def node(step: InteractionStep) -> dict[str, object]:
        return {
            "id": step.pk,
            "answer": step.answer_option,
            "script": step.script,
            "question": step.question,
            "children": [node(child) for child in children.get(step.pk, [])],
        }

    roots = children.get(None, [])
    if not roots:
        return {"id": None, "answer": "", "script": "", "question": "", "children": []}
    return node(roots[0])
