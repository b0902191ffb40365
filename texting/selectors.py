"""Reads for the texter app: permission-scoped fetches, each page a fixed number of statements.

A texter sees their own assignments in started, non-archived campaigns of organizations where
they are a member and not suspended. Counts are grouped in SQL by (status, timezone) and the
texting window is evaluated per timezone in Python, so the cost does not grow with contacts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nh3
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from campaigns.hours import zone
from campaigns.models import (
    Assignment,
    Campaign,
    CannedResponse,
    Contact,
    ContactStatus,
    ContactTag,
    InteractionStep,
    QuestionResponse,
    Tag,
)
from campaigns.scripts import render_script, script_fields
from campaigns.selectors import campaign_texting_window
from texting.errors import describe
from texting.models import Message, MessageStatus
from texting.services import contact_timezone_name

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_ACCENT = "#209556"


# --- Access ------------------------------------------------------------------------------------


def _active_member(user: User, organization_ref: str) -> Exists:
    return Exists(
        Membership.objects.filter(user=user, organization_id=OuterRef(organization_ref)).exclude(role=Role.SUSPENDED)
    )


def assignments_for_texter(*, user: User) -> QuerySet[Assignment]:
    """The user's assignments they may work on now, with campaign and organization joined."""
    return (
        Assignment.objects.filter(texter=user, campaign__is_started=True, campaign__is_archived=False)
        .filter(_active_member(user, "campaign__organization_id"))
        .select_related("campaign", "campaign__organization")
    )


def assignment_get_for_texter(*, user: User, assignment_id: int) -> Assignment | None:
    """One of the user's assignments, with the campaign's first-message script as `first_script`."""
    root_script = InteractionStep.objects.filter(campaign_id=OuterRef("campaign_id"), parent__isnull=True).values(
        "script"
    )[:1]
    return (
        assignments_for_texter(user=user).annotate(first_script=Subquery(root_script)).filter(pk=assignment_id).first()
    )


def contact_get_for_texter(*, user: User, contact_id: int, active_campaign: bool = True) -> Contact | None:
    """The user's contact (assignment, campaign and organization joined), or None: one statement.

    Pages show only started, non-archived campaigns; actions pass `active_campaign=False` so the
    service can say why it refuses (for example "This campaign is archived").
    """
    contacts = Contact.objects.filter(pk=contact_id, assignment__texter=user)
    if active_campaign:
        contacts = contacts.filter(campaign__is_started=True, campaign__is_archived=False)
    return (
        contacts.filter(_active_member(user, "campaign__organization_id"))
        .select_related("assignment", "campaign", "campaign__organization")
        .first()
    )


def texter_organizations(*, user: User) -> list[Organization]:
    return [
        m.organization
        for m in Membership.objects.filter(user=user)
        .exclude(role=Role.SUSPENDED)
        .select_related("organization")
        .order_by("organization__name")
    ]


# --- Presentation helpers ----------------------------------------------------------------------


def intro_html_clean(html: str) -> str:
    """Organizer-entered intro text, safe to render: basic formatting and links, no scripts."""
    return nh3.clean(html or "", link_rel="noopener noreferrer nofollow")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def _luminance(rgb: tuple[int, ...]) -> float:
    r, g, b = (_channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def accent_colors(color: str) -> dict[str, str]:
    """The campaign's colour for decoration, and a shade of it dark enough for white text (WCAG AA).

    Organizers pick any colour; buttons and links must stay readable, so the shade is darkened
    until white on it reaches a 4.5:1 contrast ratio.
    """
    accent = color if HEX_COLOR.fullmatch(color or "") else DEFAULT_ACCENT
    strong = tuple(int(accent[i : i + 2], 16) for i in (1, 3, 5))
    while 1.05 / (_luminance(strong) + 0.05) < 4.5:
        strong = tuple(int(v * 0.9) for v in strong)
    return {"accent": accent.lower(), "accent_strong": "#{:02x}{:02x}{:02x}".format(*strong)}


@dataclass
class ContactInfo:
    """What the contact panel shows: name, local time in the contact's timezone, zip, custom fields."""

    name: str
    timezone_name: str
    local_time: str
    timezone_abbr: str
    facts: list[tuple[str, str]]


def contact_info(*, contact: Contact, campaign: Campaign, now: dt.datetime) -> ContactInfo:
    timezone_name = contact_timezone_name(contact, campaign)
    local = now.astimezone(zone(timezone_name))
    facts = [("Zip", contact.zip)] if contact.zip else []
    custom = contact.custom_fields or {}
    visible = campaign.texter_visible_fields
    # The campaign may expose only some columns (in its own order); none chosen means all of them.
    keys = [str(key) for key in visible if str(key) in custom] if isinstance(visible, list) and visible else custom
    facts += [
        (str(key).replace("_", " ").capitalize(), "" if custom[key] is None else str(custom[key])) for key in keys
    ]
    return ContactInfo(
        name=f"{contact.first_name} {contact.last_name}".strip() or "Unnamed contact",
        timezone_name=timezone_name,
        local_time=f"{local.hour % 12 or 12}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}",
        timezone_abbr=local.tzname() or "",
        facts=facts,
    )


# --- Counts ------------------------------------------------------------------------------------


@dataclass
class AssignmentCounts:
    to_send: int = 0
    needs_response: int = 0
    past: int = 0
    closed: int = 0
    outside_hours: int = 0
    replies_outside_hours: int = 0

    @property
    def sendable(self) -> int:
        return self.to_send - self.outside_hours

    @property
    def answerable(self) -> int:
        return self.needs_response - self.replies_outside_hours

    def as_dict(self) -> dict[str, int]:
        return {
            "to_send": self.to_send,
            "needs_response": self.needs_response,
            "past": self.past,
            "closed": self.closed,
            "outside_hours": self.outside_hours,
            "replies_outside_hours": self.replies_outside_hours,
            "sendable": self.sendable,
            "answerable": self.answerable,
        }


class _WindowCache:
    """Whether texting is open now for a campaign and a contact timezone, evaluated once per pair."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self._open: dict[tuple[int, str], bool] = {}

    def is_open(self, campaign: Campaign, contact_timezone: str) -> bool:
        key = (campaign.pk, contact_timezone)
        if key not in self._open:
            name = contact_timezone_name(Contact(timezone=contact_timezone), campaign)
            self._open[key] = campaign_texting_window(campaign=campaign).is_open(self.now, zone(name))
        return self._open[key]


def _counts_for(assignments: list[Assignment], now: dt.datetime) -> dict[int, AssignmentCounts]:
    """Counts for each assignment: one grouped statement whatever the number of contacts."""
    counts = {a.pk: AssignmentCounts() for a in assignments}
    if not assignments:
        return counts
    campaigns = {a.pk: a.campaign for a in assignments}
    windows = _WindowCache(now)
    rows = (
        Contact.objects.filter(assignment_id__in=list(counts))
        .values_list("assignment_id", "status", "is_opted_out", "timezone")
        .annotate(n=Count("id"))
        .order_by()
    )
    for assignment_id, status, opted_out, tz, n in rows:
        c = counts[assignment_id]
        if status == ContactStatus.CLOSED:
            c.closed += n
        elif status in (ContactStatus.MESSAGED, ContactStatus.CONVO):
            c.past += n
        elif opted_out:
            continue
        elif status == ContactStatus.NEEDS_MESSAGE:
            c.to_send += n
            if not windows.is_open(campaigns[assignment_id], tz):
                c.outside_hours += n
        elif status == ContactStatus.NEEDS_RESPONSE:
            c.needs_response += n
            if not windows.is_open(campaigns[assignment_id], tz):
                c.replies_outside_hours += n
    return counts


def assignment_counts(*, assignment: Assignment, now: dt.datetime | None = None) -> AssignmentCounts:
    return _counts_for([assignment], now or timezone.now())[assignment.pk]


# --- Todo list ---------------------------------------------------------------------------------


@dataclass
class TodoCard:
    assignment: Assignment
    campaign: Campaign
    intro_html: str
    counts: AssignmentCounts
    colors: dict[str, str]


@dataclass
class TodoList:
    organizations: list[Organization]
    cards: list[TodoCard]


def todo_list_for_texter(*, user: User, now: dt.datetime | None = None) -> TodoList:
    """The texter's home page: three statements whatever the number of assignments and contacts."""
    organizations = texter_organizations(user=user)
    assignments = list(
        assignments_for_texter(user=user).order_by(F("campaign__due_by").asc(nulls_last=True), "campaign_id")
        if organizations
        else Assignment.objects.none()
    )
    counts = _counts_for(assignments, now or timezone.now())
    cards = [
        TodoCard(
            assignment=a,
            campaign=a.campaign,
            intro_html=intro_html_clean(a.campaign.intro_html),
            counts=counts[a.pk],
            colors=accent_colors(a.campaign.primary_color),
        )
        for a in assignments
    ]
    return TodoList(organizations=organizations, cards=cards)


# --- Queues: one contact at a time ---------------------------------------------------------------


def _open_timezone_filter(
    queryset: QuerySet[Contact], campaign: Campaign, now: dt.datetime
) -> tuple[Q | None, int, int]:
    """Which of these contacts may be texted now, as a filter; and how many may and may not.

    Returns (filter or None when none may, open count, closed count): one grouped statement.
    """
    windows = _WindowCache(now)
    open_names: list[str] = []
    open_count = closed_count = 0
    for tz, n in queryset.values_list("timezone").annotate(n=Count("id")).order_by():
        if windows.is_open(campaign, tz):
            open_names.append(tz)
            open_count += n
        else:
            closed_count += n
    return (Q(timezone__in=open_names) if open_names else None), open_count, closed_count


def _first_after(queryset: QuerySet[Contact], *, keys: list[str], after: Q | None, exclude_id: int | None) -> Any:
    """The first contact in `keys` order after a cursor, wrapping round to the start: one statement."""
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    if after is not None:
        queryset = queryset.annotate(
            _wrapped=Case(When(after, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("_wrapped", *keys)
    else:
        queryset = queryset.order_by(*keys)
    return queryset.first()


@dataclass
class SendItem:
    assignment: Assignment
    contact: Contact | None
    sendable: int
    outside_hours: int
    first_message: str = ""
    info: ContactInfo | None = None


def send_queue_item(
    *,
    assignment: Assignment,
    texter: User,
    after: int | None = None,
    before: int | None = None,
    now: dt.datetime | None = None,
) -> SendItem:
    """The next contact to send a first message to, among those inside texting hours now.

    Ordered by id; `after`/`before` move through the queue and wrap round. Two statements.
    `assignment` must come from `assignment_get_for_texter` (it carries `first_script`).
    """
    now = now or timezone.now()
    campaign = assignment.campaign
    queue = Contact.objects.for_assignment(assignment).needs_message()
    open_filter, sendable, outside = _open_timezone_filter(queue, campaign, now)
    item = SendItem(assignment=assignment, contact=None, sendable=sendable, outside_hours=outside)
    if open_filter is None:
        return item
    queue = queue.filter(open_filter)
    if before is not None:
        contact = _first_after(queue, keys=["-id"], after=Q(id__lt=before), exclude_id=before)
    else:
        contact = _first_after(
            queue, keys=["id"], after=Q(id__gt=after) if after is not None else None, exclude_id=after
        )
    if contact is None:
        return item
    contact.campaign = campaign
    item.contact = contact
    item.info = contact_info(contact=contact, campaign=campaign, now=now)
    fields = script_fields(contact=contact, texter_first_name=texter.first_name, texter_last_name=texter.last_name)
    item.first_message = render_script(getattr(assignment, "first_script", None) or "", fields)
    return item


def reply_cursor(contact: Contact) -> str:
    """A position in the reply queue (oldest change first): `<microseconds since epoch>-<id>`."""
    micros = (contact.updated_at - EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}-{contact.pk}"


def parse_reply_cursor(value: str | None) -> tuple[dt.datetime, int] | None:
    if not value:
        return None
    micros, _, pk = value.partition("-")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    return EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)


@dataclass
class ReplyItem:
    assignment: Assignment
    conversation: Conversation | None
    answerable: int
    outside_hours: int


def reply_queue_item(
    *,
    assignment: Assignment,
    texter: User,
    after: str | None = None,
    before: str | None = None,
    pinned: int | None = None,
    now: dt.datetime | None = None,
) -> ReplyItem:
    """The next conversation that needs a response, oldest first, among contacts inside texting hours.

    `pinned` is the conversation the texter was on (the page keeps it in its address): while it
    still needs a response it is shown again, even though a new reply moved it to the back of the
    queue, so a refresh never takes it away from under the texter.
    """
    now = now or timezone.now()
    campaign = assignment.campaign
    queue = Contact.objects.for_assignment(assignment).needs_response()
    open_filter, answerable, outside = _open_timezone_filter(queue, campaign, now)
    item = ReplyItem(assignment=assignment, conversation=None, answerable=answerable, outside_hours=outside)
    contact = queue.filter(pk=pinned).first() if pinned is not None else None
    if contact is not None:
        contact.assignment = assignment
        contact.campaign = campaign
        item.conversation = conversation_detail(contact=contact, texter=texter, now=now)
        return item
    if open_filter is None:
        return item
    queue = queue.filter(open_filter)
    before_cursor = parse_reply_cursor(before)
    after_cursor = parse_reply_cursor(after)
    if before_cursor is not None:
        ts, pk = before_cursor
        contact = _first_after(
            queue,
            keys=["-updated_at", "-id"],
            after=Q(updated_at__lt=ts) | Q(updated_at=ts, id__lt=pk),
            exclude_id=pk,
        )
    elif after_cursor is not None:
        ts, pk = after_cursor
        contact = _first_after(
            queue,
            keys=["updated_at", "id"],
            after=Q(updated_at__gt=ts) | Q(updated_at=ts, id__gt=pk),
            exclude_id=pk,
        )
    else:
        contact = _first_after(queue, keys=["updated_at", "id"], after=None, exclude_id=None)
    if contact is not None:
        contact.assignment = assignment
        contact.campaign = campaign
        item.conversation = conversation_detail(contact=contact, texter=texter, now=now)
    return item


# --- One conversation ----------------------------------------------------------------------------


@dataclass
class SurveyQuestion:
    step: InteractionStep
    answers: list[InteractionStep]
    chosen: InteractionStep | None

    @property
    def question(self) -> str:
        return self.step.question


def survey_path(steps: Iterable[InteractionStep], responses: Mapping[int, str]) -> list[SurveyQuestion]:
    """The questions asked so far: start at the root's question and follow each chosen answer.

    `responses` maps a question step's id to the chosen answer's label (as QuestionResponse stores
    it). The last item is the question to ask now, or the last one answered when the script ends.
    """
    children: dict[int | None, list[InteractionStep]] = defaultdict(list)
    for step in steps:
        children[step.parent_id].append(step)
    for kids in children.values():
        kids.sort(key=lambda s: (s.position, s.pk))
    roots = children.get(None) or []
    node = roots[0] if roots else None
    path: list[SurveyQuestion] = []
    seen: set[int] = set()
    while node is not None and node.pk not in seen and node.question.strip() and children.get(node.pk):
        seen.add(node.pk)
        answers = children[node.pk]
        value = responses.get(node.pk)
        chosen = next((a for a in answers if a.answer_option == value), None)
        path.append(SurveyQuestion(step=node, answers=answers, chosen=chosen))
        node = chosen
    return path


@dataclass
class Conversation:
    contact: Contact
    campaign: Campaign
    messages: list[Message]
    survey: list[SurveyQuestion]
    canned_responses: list[tuple[CannedResponse, str]]
    tags: Sequence[Tag]
    info: ContactInfo
    colors: dict[str, str] = field(default_factory=dict)

    @property
    def cursor(self) -> str:
        return reply_cursor(self.contact)

    @property
    def current_question(self) -> SurveyQuestion | None:
        return self.survey[-1] if self.survey else None


def conversation_detail(*, contact: Contact, texter: User, now: dt.datetime | None = None) -> Conversation:
    """Everything the conversation view shows about a contact: five statements.

    `contact` must have its campaign (and organization) loaded, as the texter selectors do.
    """
    now = now or timezone.now()
    campaign = contact.campaign
    messages = thread_for_contact(contact=contact)
    steps = list(InteractionStep.objects.filter(campaign_id=campaign.pk))
    responses = dict(QuestionResponse.objects.filter(contact=contact).values_list("interaction_step_id", "value"))
    fields = script_fields(contact=contact, texter_first_name=texter.first_name, texter_last_name=texter.last_name)
    canned = [
        (response, render_script(response.text, fields))
        for response in CannedResponse.objects.filter(campaign_id=campaign.pk).filter(
            Q(user__isnull=True) | Q(user=texter)
        )
    ]
    tags = list(
        Tag.objects.filter(organization_id=campaign.organization_id).annotate(
            selected=Exists(ContactTag.objects.filter(contact=contact, tag_id=OuterRef("pk")))
        )
    )
    return Conversation(
        contact=contact,
        campaign=campaign,
        messages=messages,
        survey=survey_path(steps, responses),
        canned_responses=canned,
        tags=tags,
        info=contact_info(contact=contact, campaign=campaign, now=now),
        colors=accent_colors(campaign.primary_color),
    )


THREAD_FIELDS = ("id", "contact_id", "direction", "body", "status", "error_code", "segments", "created_at")
FAILED_STATUSES = {MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.CANCELLED}


def thread_for_contact(*, contact: Contact | int) -> list[Message]:
    """The conversation's messages, oldest first; failed ones carry `failure` in the texter's words."""
    messages = list(Message.objects.thread(contact).only(*THREAD_FIELDS))
    for message in messages:
        failure = ""
        if message.status in FAILED_STATUSES:
            info = describe(message.error_code)
            failure = info.description if info else "The phone company did not deliver it."
        message.failure = failure  # type: ignore[attr-defined]
    return messages


def answer_script(*, contact: Contact, step: InteractionStep, texter: User) -> str:
    fields = script_fields(contact=contact, texter_first_name=texter.first_name, texter_last_name=texter.last_name)
    return render_script(step.script, fields)


def survey_for_contact(*, contact: Contact) -> list[SurveyQuestion]:
    steps = list(InteractionStep.objects.filter(campaign_id=contact.campaign_id))
    responses = dict(QuestionResponse.objects.filter(contact=contact).values_list("interaction_step_id", "value"))
    return survey_path(steps, responses)


PAST_PAGE_SIZE = 50
PAST_STATUSES = (ContactStatus.MESSAGED, ContactStatus.NEEDS_RESPONSE, ContactStatus.CONVO)


def _name_search(queryset: QuerySet[Contact], query: str) -> QuerySet[Contact]:
    """Every word of `query` must start or be part of the first or the last name."""
    for word in query.split()[:5]:
        queryset = queryset.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return queryset


def past_conversations(
    *, assignment: Assignment, page: int = 1, skipped: bool = False, query: str = ""
) -> list[Contact]:
    """A page of the texter's conversations, most recent change first (one statement).

    Past: first message sent, whatever came after (still open); skipped: closed ones (skipped,
    opted out or closed by an organizer). `query` searches by name.
    """
    start = (max(page, 1) - 1) * PAST_PAGE_SIZE
    contacts: QuerySet[Contact] = Contact.objects.for_assignment(assignment)
    if skipped:
        contacts = contacts.filter(status=ContactStatus.CLOSED)
    else:
        contacts = contacts.filter(status__in=PAST_STATUSES)
    if query.strip():
        contacts = _name_search(contacts, query)
    return list(
        contacts.only("id", "first_name", "last_name", "status", "is_opted_out", "updated_at").order_by(
            "-updated_at", "-id"
        )[start : start + PAST_PAGE_SIZE + 1]
    )


def contact_state_for_assignment(*, assignment: Assignment, contact_id: int) -> str:
    """ "ok", "opted_out", or "gone" (no longer in this assignment): the page asks after an
    organizer changed assignments or a contact changed. One statement."""
    row = Contact.objects.for_assignment(assignment).filter(pk=contact_id).values_list("is_opted_out", flat=True)
    states = list(row)
    if not states:
        return "gone"
    return "opted_out" if states[0] else "ok"
