"""Every write to campaigns, contacts, assignments, opt-outs, tags and survey answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from campaigns.models import (
    CAMPAIGN_SETTINGS_FIELDS,
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
    Tag,
)
from campaigns.phones import normalize_cell
from campaigns.selectors import assignment_contact_total, contact_count_unassigned, contact_pool_open_timezones
from core.errors import ApplicationError
from core.live import (
    campaign_group,
    disconnect_texter_on_commit,
    publish_contacts_reassigned,
    publish_on_commit,
    publish_stats_changed,
    publish_to_groups_on_commit,
    texter_group,
)
from integrations.events import event_emit
from integrations.models import Event

ASSIGNABLE_ROLES = (Role.OWNER, Role.ADMIN, Role.SUPERVOLUNTEER, Role.TEXTER)

# --- Campaign lifecycle -----------------------------------------------------------------------


def campaign_start_problems(*, campaign: Campaign) -> list[str]:
    """What stops this campaign from starting, in words an organizer can act on."""
    problems: list[str] = []
    if campaign.is_archived:
        problems.append("The campaign is archived: unarchive it first.")
    if not campaign.contacts.exists():
        problems.append("It has no contacts: upload a contact list.")
    root = InteractionStep.objects.filter(campaign=campaign, parent__isnull=True).first()
    if root is None or not root.script.strip():
        problems.append("It has no script: write the first message.")
    if not campaign.use_dynamic_assignment:
        # Only contacts still waiting for a first message need a texter (and only those can be
        # assigned): a closed, unassigned contact must not keep the campaign from starting.
        unassigned = Contact.objects.filter(campaign=campaign, assignment__isnull=True).needs_message().count()
        if unassigned:
            problems.append(
                f"{unassigned} contact{'s are' if unassigned != 1 else ' is'} not assigned to a texter: "
                "assign them, or turn on dynamic assignment."
            )
    return problems


@transaction.atomic
def campaign_start(*, campaign: Campaign, acting_user: User | None = None) -> Campaign:
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not locked.is_started:
        problems = campaign_start_problems(campaign=locked)
        if problems:
            raise ApplicationError("This campaign can't start yet. " + " ".join(problems), code="not_ready")
        locked.is_started = True
        locked.started_at = timezone.now()
        locked.save(update_fields=["is_started", "started_at", "updated_at"])
        _publish_assignments_changed(campaign=locked)
        event_emit(
            organization_id=locked.organization_id, event=Event.CAMPAIGN_STARTED, payload=_campaign_payload(locked)
        )
    # The caller's instance too, as campaign_archive does: code that goes on using it must not
    # see a stale "not started".
    campaign.is_started, campaign.started_at = locked.is_started, locked.started_at
    return locked


@transaction.atomic
def campaign_archive(*, campaign: Campaign, archived: bool = True) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(is_archived=archived, updated_at=timezone.now())
    campaign.is_archived = archived
    _publish_assignments_changed(campaign=campaign)
    if archived:
        event_emit(
            organization_id=campaign.organization_id, event=Event.CAMPAIGN_FINISHED, payload=_campaign_payload(campaign)
        )
    return campaign


def _campaign_payload(campaign: Campaign) -> dict[str, object]:
    return {"campaign_id": campaign.pk, "title": campaign.title}


def _publish_assignments_changed(*, campaign: Campaign) -> None:
    for texter_id in Assignment.objects.filter(campaign=campaign).values_list("texter_id", flat=True):
        publish_on_commit(texter_group(texter_id), "assignments_changed", campaign_id=campaign.pk)
    publish_on_commit(campaign_group(campaign.pk), "campaign_changed", campaign_id=campaign.pk)


# --- Script -----------------------------------------------------------------------------------


@transaction.atomic
def script_set_first_message(*, campaign: Campaign, script: str, question: str | None = None) -> InteractionStep:
    """Create or update the script's root. `question=None` keeps the current first question:
    editing the message's wording must not silently detach the answers below it."""
    defaults = {"script": script} if question is None else {"script": script, "question": question}
    root, _ = InteractionStep.objects.update_or_create(
        campaign=campaign,
        parent=None,
        defaults=defaults,
        create_defaults={"script": script, "question": question or ""},
    )
    return root


def script_add_answer(
    *, parent: InteractionStep, answer_option: str, script: str, question: str = ""
) -> InteractionStep:
    if not answer_option.strip():
        raise ApplicationError("An answer needs a label, like “Yes”.")
    position = parent.children.count()
    return InteractionStep.objects.create(
        campaign_id=parent.campaign_id,
        parent=parent,
        answer_option=answer_option.strip(),
        script=script,
        question=question,
        position=position,
    )


def canned_response_create(*, campaign: Campaign, title: str, text: str) -> CannedResponse:
    return CannedResponse.objects.create(
        campaign=campaign, title=title, text=text, position=campaign.canned_responses.count()
    )


# --- Assignments ------------------------------------------------------------------------------


@transaction.atomic
def contacts_assign(*, campaign: Campaign, texter: User, count: int) -> int:
    """Give `texter` up to `count` more unassigned contacts of the campaign; returns how many."""
    return contacts_assign_many(campaign=campaign, counts=[(texter, count)])[texter.pk]


@transaction.atomic
def contacts_split_evenly(*, campaign: Campaign, texters: Iterable[User]) -> dict[int, int]:
    """Share every unassigned contact among `texters` as evenly as possible."""
    people = list(dict.fromkeys(texters))
    if not people:
        raise ApplicationError("Choose at least one texter to split the contacts between.")
    unassigned = contact_count_unassigned(campaign=campaign)
    share, extra = divmod(unassigned, len(people))
    return contacts_assign_many(
        campaign=campaign, counts=[(person, share + (1 if i < extra else 0)) for i, person in enumerate(people)]
    )


@transaction.atomic
def contacts_assign_many(*, campaign: Campaign, counts: Sequence[tuple[User, int]]) -> dict[int, int]:
    """Give each texter up to their count more of the campaign's unassigned contacts, in id order
    (the first texter the first contacts); returns {texter id: how many they got}.

    Every texter gets an assignment, even with a count of 0. All of it lands or none: one
    transaction, and on PostgreSQL one UPDATE whatever the number of texters and contacts, each
    contact going to the texter whose range of the pool (in id order) holds it. Contacts claimed at
    the same moment by someone else (a texter asking for more) are skipped, never handed out twice.
    """
    if any(count < 0 for _, count in counts):
        raise ApplicationError("A texter's count can't be negative.")
    if campaign.is_archived:
        raise ApplicationError("This campaign is archived: unarchive it before assigning texters.")
    texters = {texter.pk: texter for texter, _ in counts}
    assignments = _assignments_for(campaign=campaign, texter_ids=list(texters))
    wanted = [(assignments[texter.pk], count) for texter, count in counts if count > 0]
    given = dict.fromkeys(texters, 0)
    if not wanted:
        return given
    now = timezone.now()
    if connection.vendor == "postgresql":
        by_assignment = _pool_assign_in_one_statement(campaign=campaign, wanted=wanted, now=now)
    else:
        by_assignment = _pool_assign_one_by_one(campaign=campaign, wanted=wanted, now=now)
    texter_of = {assignment_id: texter_id for texter_id, assignment_id in assignments.items()}
    for assignment_id, n in by_assignment.items():
        given[texter_of[assignment_id]] += n
    publish_to_groups_on_commit(
        [texter_group(texter_id) for texter_id, n in given.items() if n], "assignments_changed", campaign_id=campaign.pk
    )
    return given


def _assignments_for(*, campaign: Campaign, texter_ids: list[int]) -> dict[int, int]:
    """{texter id: assignment id} in this campaign, creating the missing ones: two statements."""
    Assignment.objects.bulk_create(
        [Assignment(campaign=campaign, texter_id=texter_id) for texter_id in texter_ids], ignore_conflicts=True
    )
    return dict(Assignment.objects.filter(campaign=campaign, texter_id__in=texter_ids).values_list("texter_id", "id"))


# On PostgreSQL a contact's assignment is checked by triggers, not a foreign key (migration 0004):
# the per-row check is skipped while this setting is on, for a statement that checked its
# assignments once, set-based, and locked them as the row check would have.
ASSIGNMENTS_CHECKED_SETTING = "spoke.contact_assignments_checked"


def _pool_assign_in_one_statement(
    *, campaign: Campaign, wanted: list[tuple[int, int]], now: dt.datetime
) -> dict[int, int]:
    """One UPDATE over the unassigned pool, after one statement that locks the assignments: three
    statements in all, whatever the number of texters and contacts.

    A pass over the `contact_pool` index numbers the pool in id order, only to find the id where
    each texter's range starts; the UPDATE then walks the same index and gives each contact to the
    texter whose range holds its id (`width_bucket`), without joining back to the table. Both run
    on the statement's one snapshot, so the ranges hold exactly the counts asked for.

    The assignments are checked once instead of once per contact: locked `FOR KEY SHARE` (what a
    foreign key check takes), none can be deleted before this transaction ends, and all must still
    be there. The per-row check is off for the UPDATE only.
    """
    starts, total = [], 1
    for _, count in wanted:
        starts.append(total)
        total += count
    assignment_ids = [assignment_id for assignment_id, _ in wanted]
    quote = connection.ops.quote_name
    contacts, assignments = quote(Contact._meta.db_table), quote(Assignment._meta.db_table)
    # The pool's conditions as the `contact_pool` index's, so the planner uses it.
    pool = "campaign_id = %s AND assignment_id IS NULL AND NOT is_opted_out AND status = %s"
    pool_params: list[Any] = [campaign.pk, ContactStatus.NEEDS_MESSAGE.value]
    # Only our own table names are formatted into the statements; every value is a parameter.
    # `campaign_id = campaign_id` changes nothing but tells PostgreSQL that `contact_campaign_status`'s
    # key may have changed: it then skips bottom-up deletion, a visit to every heap page its full
    # leaf pages point at in search of dead row versions, of which a first hand-out has none.
    hand_out = f"""
        WITH numbered AS (
            SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM (
                SELECT id FROM {contacts} WHERE {pool} ORDER BY id LIMIT %s
            ) AS next_contacts
        ), bounds AS (
            SELECT array_agg(id ORDER BY n) FILTER (WHERE n = ANY(%s::bigint[])) AS firsts, max(id) AS last
            FROM numbered
        ), given AS (
            UPDATE {contacts}
            SET assignment_id = (%s::bigint[])[width_bucket(id, (SELECT firsts FROM bounds))], updated_at = %s,
                campaign_id = campaign_id
            WHERE {pool} AND id <= (SELECT last FROM bounds)
            RETURNING assignment_id
        )
        SELECT assignment_id, COUNT(*) FROM given GROUP BY assignment_id
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, set_config(%s, 'on', true) FROM {assignments} WHERE id = ANY(%s) FOR KEY SHARE",  # noqa: S608
            [ASSIGNMENTS_CHECKED_SETTING, assignment_ids],
        )
        if len(cursor.fetchall()) != len(set(assignment_ids)):
            raise ApplicationError("A texter was removed from the campaign meanwhile: nothing was assigned. Try again.")
        cursor.execute(hand_out, [*pool_params, total - 1, starts, assignment_ids, now, *pool_params])
        given = {assignment_id: int(n) for assignment_id, n in cursor.fetchall()}
        cursor.execute("SELECT set_config(%s, 'off', true)", [ASSIGNMENTS_CHECKED_SETTING])
    return given


def _pool_assign_one_by_one(*, campaign: Campaign, wanted: list[tuple[int, int]], now: dt.datetime) -> dict[int, int]:
    """The portable path (SQLite): two statements per texter."""
    given: dict[int, int] = {}
    for assignment_id, count in wanted:
        ids = list(
            Contact.objects.filter(campaign=campaign, assignment__isnull=True)
            .needs_message()
            .order_by("id")
            .values_list("id", flat=True)[:count]
        )
        given[assignment_id] = given.get(assignment_id, 0) + Contact.objects.filter(
            id__in=ids, assignment__isnull=True
        ).update(assignment_id=assignment_id, updated_at=now)
    return given


@transaction.atomic
def assignment_unassign(*, assignment: Assignment) -> int:
    """Return the texter's unsent contacts to the pool; conversations stay with them."""
    released = (
        Contact.objects.filter(assignment=assignment).needs_message().update(assignment=None, updated_at=timezone.now())
    )
    publish_on_commit(texter_group(assignment.texter_id), "assignments_changed", campaign_id=assignment.campaign_id)
    return released


@transaction.atomic
def texter_assignments_release(*, organization_id: int, user_id: int) -> int:
    """A suspended member stops texting for the organization at once: their unsent contacts go back
    to the pool of every campaign, and their open texter pages are closed. Conversations waiting
    for their reply stay assigned to them, so organizers find them in review under their name and
    reassign them. Returns how many contacts went back to the pool."""
    released = 0
    assignments = Assignment.objects.filter(campaign__organization_id=organization_id, texter_id=user_id)
    for assignment in assignments.order_by("id"):
        released += assignment_unassign(assignment=assignment)
        publish_on_commit(
            campaign_group(assignment.campaign_id), "campaign_changed", campaign_id=assignment.campaign_id
        )
    disconnect_texter_on_commit(user_id=user_id)
    return released


# --- Opt-outs ---------------------------------------------------------------------------------


@transaction.atomic
def optout_create(
    *,
    organization: Organization | int,
    cell: str,
    source: str,
    reason: str = "",
    acting_user: User | None = None,
) -> OptOut:
    """Opt the cell out of the whole organization and close every contact with it.

    Idempotent: opting out a cell that is already out records no second event and returns the
    existing record, but still closes any contact with the cell that is not closed yet (one added
    after the first opt-out must not stay textable).
    """
    org_id = organization if isinstance(organization, int) else organization.pk
    # Contacts are stored in E.164; an organizer's "(202) 555-0175" must opt out the same person.
    cell = normalize_cell(cell) or cell.strip()
    try:
        with transaction.atomic():
            optout = OptOut.objects.create(
                organization_id=org_id, cell=cell, source=OptOutSource(source), reason=reason, created_by=acting_user
            )
    except IntegrityError:
        optout = OptOut.objects.get(organization_id=org_id, cell=cell)
    else:
        OptOutEvent.objects.create(
            organization_id=org_id,
            cell=cell,
            action=OptOutEvent.Action.OPT_OUT,
            source=source,
            reason=reason,
            created_by=acting_user,
        )
        event_emit(
            organization_id=org_id,
            event=Event.OPTOUT_CREATED,
            payload={"cell": cell, "source": str(source), "reason": reason},
        )
    still_open = Contact.objects.filter(campaign__organization_id=org_id, cell=cell).exclude(
        is_opted_out=True, status=ContactStatus.CLOSED
    )
    # Assigned or not: every campaign holding the cell shows one more opt-out on its dashboard.
    affected = list(still_open.values_list("assignment__texter_id", "id", "campaign_id"))
    still_open.update(is_opted_out=True, status=ContactStatus.CLOSED, updated_at=timezone.now())
    for texter_id, contact_id, _campaign_id in affected:
        if texter_id is not None:
            publish_on_commit(texter_group(texter_id), "contact_changed", contact_id=contact_id)
    for campaign_id in sorted({campaign_id for _, _, campaign_id in affected}):
        publish_stats_changed(campaign_id=campaign_id)
    return optout


@transaction.atomic
def optout_remove(*, organization: Organization | int, cell: str, reason: str, acting_user: User | None) -> bool:
    """Opt a cell back in. Requires a reason; the audit trail keeps both events."""
    if not reason.strip():
        raise ApplicationError("Say why this person is opted back in (for example “texted START”).")
    org_id = organization if isinstance(organization, int) else organization.pk
    cell = normalize_cell(cell) or cell.strip()
    deleted, _ = OptOut.objects.filter(organization_id=org_id, cell=cell).delete()
    if not deleted:
        return False
    OptOutEvent.objects.create(
        organization_id=org_id,
        cell=cell,
        action=OptOutEvent.Action.OPT_IN,
        source=OptOutSource.KEYWORD if acting_user is None else OptOutSource.ORGANIZER,
        reason=reason,
        created_by=acting_user,
    )
    event_emit(organization_id=org_id, event=Event.OPTOUT_REMOVED, payload={"cell": cell, "reason": reason})
    # Contacts stay closed: an organizer reopens a conversation deliberately.
    Contact.objects.filter(campaign__organization_id=org_id, cell=cell).update(
        is_opted_out=False, updated_at=timezone.now()
    )
    return True


# --- Conversation state ------------------------------------------------------------------------


def question_response_set(*, contact: Contact, step: InteractionStep) -> QuestionResponse:
    """Record the contact's answer to `step`'s parent question; a new answer replaces the old.

    Answers to the questions below a replaced answer no longer apply and are removed.
    """
    if step.parent_id is None or step.campaign_id != contact.campaign_id:
        raise ApplicationError("That answer does not belong to this campaign's script.", status=404)
    question_step_id = step.parent_id
    with transaction.atomic():
        previous = QuestionResponse.objects.filter(contact=contact, interaction_step_id=question_step_id).first()
        if previous is not None and previous.value != step.answer_option:
            # Everything under the answers not chosen goes. Found by the tree, not by the old
            # answer's label, so an answer relabelled since it was recorded is cleaned up too.
            others = InteractionStep.objects.filter(parent_id=question_step_id).exclude(pk=step.pk)
            stale = _descendant_ids(list(others.values_list("id", flat=True)))
            QuestionResponse.objects.filter(contact=contact, interaction_step_id__in=stale).delete()
        response, _ = QuestionResponse.objects.update_or_create(
            contact=contact, interaction_step_id=question_step_id, defaults={"value": step.answer_option}
        )
        event_emit(
            organization_id=lambda: _organization_id_of(contact),
            event=Event.SURVEY_ANSWER_RECORDED,
            payload=lambda: {
                **_contact_payload(contact),
                "interaction_step_id": question_step_id,
                "question": InteractionStep.objects.filter(pk=question_step_id)
                .values_list("question", flat=True)
                .first(),
                "answer": step.answer_option,
            },
        )
    return response


def _organization_id_of(contact: Contact) -> int | None:
    if Contact.campaign.is_cached(contact):  # type: ignore[attr-defined]
        return contact.campaign.organization_id
    return Campaign.objects.filter(pk=contact.campaign_id).values_list("organization_id", flat=True).first()


def _contact_payload(contact: Contact) -> dict[str, object]:
    return {
        "contact_id": contact.pk,
        "campaign_id": contact.campaign_id,
        "cell": contact.cell,
        "external_id": contact.external_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
    }


def _descendant_ids(step_ids: list[int]) -> list[int]:
    """These steps and every step below them."""
    ids = list(step_ids)
    frontier = list(step_ids)
    while frontier:
        frontier = list(InteractionStep.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    return ids


def contact_close(*, contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.CLOSED, updated_at=timezone.now())
    contact.status = ContactStatus.CLOSED


def contact_reopen(*, contact: Contact, was_messaged: bool = True) -> None:
    """Reopen a closed contact: as a conversation, or back to the first-message queue when
    `was_messaged` is False (it was skipped before anyone texted it; `texting` knows which)."""
    if contact.is_opted_out:
        raise ApplicationError("This contact opted out: opt them back in before reopening the conversation.")
    if contact.status != ContactStatus.CLOSED:
        # Only a closed conversation reopens; "reopening" one waiting for a reply would move it
        # to `convo` and drop it from the texter's needs-response queue.
        return
    new_status = ContactStatus.CONVO if was_messaged else ContactStatus.NEEDS_MESSAGE
    Contact.objects.filter(pk=contact.pk).update(status=new_status, updated_at=timezone.now())
    contact.status = new_status


@transaction.atomic
def contact_tags_set(*, contact: Contact, tag_ids: Iterable[int], acting_user: User | None) -> list[int]:
    wanted = set(
        Tag.objects.filter(organization_id=contact.campaign.organization_id, id__in=list(tag_ids)).values_list(
            "id", flat=True
        )
    )
    current = set(ContactTag.objects.filter(contact=contact).values_list("tag_id", flat=True))
    ContactTag.objects.filter(contact=contact, tag_id__in=current - wanted).delete()
    ContactTag.objects.bulk_create(
        [ContactTag(contact=contact, tag_id=tag_id, created_by=acting_user) for tag_id in wanted - current],
        ignore_conflicts=True,
    )
    if wanted - current:
        added = sorted(wanted - current)
        event_emit(
            organization_id=contact.campaign.organization_id,
            event=Event.TAG_APPLIED,
            payload=lambda: {
                **_contact_payload(contact),
                "tags": list(Tag.objects.filter(id__in=added).values("id", "name", "group")),
            },
        )
    return sorted(wanted)


# --- Dynamic assignment ------------------------------------------------------------------------


def assignment_join(*, campaign: Campaign, user: User) -> Assignment:
    """Join a dynamic-assignment campaign through its link: the texter gets an (empty) assignment
    and asks for contacts in batches. Only active members of the campaign's organization may join."""
    if campaign.is_archived:
        raise ApplicationError("This campaign has ended: it no longer takes texters.", code="archived", status=409)
    is_member = (
        Membership.objects.filter(user=user, organization_id=campaign.organization_id)
        .exclude(role=Role.SUSPENDED)
        .exists()
    )
    if not is_member:
        raise ApplicationError(
            f"This link is for texters of {campaign.organization.name}, and you're not one of them yet. "
            "Ask an organizer to invite you, then open the link again.",
            code="not_member",
            status=403,
        )
    existing = Assignment.objects.filter(campaign=campaign, texter=user).first()
    if existing is not None:
        return existing
    if not campaign.use_dynamic_assignment:
        raise ApplicationError(
            "This campaign hands out contacts through organizers, not through a link. "
            "Ask an organizer to assign you contacts.",
            code="not_dynamic",
            status=409,
        )
    assignment, created = Assignment.objects.get_or_create(campaign=campaign, texter=user)
    if created:
        publish_on_commit(texter_group(user.pk), "assignments_changed", campaign_id=campaign.pk)
    return assignment


@transaction.atomic
def contacts_request_more(*, assignment: Assignment, now: dt.datetime | None = None) -> int:
    """Give the texter the campaign's next batch of unassigned contacts inside texting hours now.

    At most `batch_size`, never past `max_contacts_per_texter` (nor the assignment's own cap).
    Contacts are claimed with `SELECT … FOR UPDATE SKIP LOCKED`, so texters asking at the same
    moment never get the same contact. Returns how many were assigned.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_related("organization").get(pk=assignment.campaign_id)
    if not campaign.use_dynamic_assignment:
        raise ApplicationError(
            "Organizers assign the contacts of this campaign: ask one for more.", code="not_dynamic", status=409
        )
    if campaign.is_archived or not campaign.is_started:
        raise ApplicationError("This campaign isn't sending messages right now.", code="not_active", status=409)
    count = campaign.batch_size
    caps = [cap for cap in (campaign.max_contacts_per_texter, assignment.max_contacts) if cap]
    if caps:
        room = min(caps) - assignment_contact_total(assignment=assignment)
        if room <= 0:
            raise ApplicationError(
                f"You have reached this campaign's limit of {min(caps)} contacts per texter. Thank you!",
                code="limit_reached",
                status=409,
            )
        count = min(count, room)
    open_timezones = contact_pool_open_timezones(campaign=campaign, now=now)
    pool = Contact.objects.filter(campaign=campaign, assignment__isnull=True).needs_message()
    sendable = pool if open_timezones is None else pool.filter(timezone__in=open_timezones)
    claim = sendable.order_by("id").select_for_update(skip_locked=True).values("id")[:count]
    assigned = _contacts_claim(claim=claim, assignment=assignment, now=now)
    if not assigned:
        if sendable.exists():
            # Everything left inside texting hours is being handed to someone else right now.
            raise ApplicationError(
                "Other texters just took the last contacts. Try again in a moment.", code="pool_empty", status=409
            )
        if pool.exists():
            raise ApplicationError(
                "Every contact left is outside texting hours now. Come back when texting hours start "
                "in their timezone.",
                code="outside_hours",
                status=409,
            )
        raise ApplicationError("There are no more contacts to text in this campaign.", code="pool_empty", status=409)
    publish_on_commit(texter_group(assignment.texter_id), "assignment_grew", campaign_id=campaign.pk, added=assigned)
    return assigned


def _contacts_claim(*, claim: QuerySet[Contact, Any], assignment: Assignment, now: dt.datetime) -> int:
    """Give the contacts `claim` selects to `assignment` in one statement; returns how many.

    The claim is a materialized CTE: as a plain `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`
    PostgreSQL may run the subquery again for each row it updates, and the rows it has just
    updated no longer lock, so the LIMIT would let more than n through. On PostgreSQL the claim
    skips rows another texter is claiming at this moment (SKIP LOCKED); SQLite's write lock
    serializes the claimers instead.
    """
    claim_sql, claim_params = claim.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(Contact._meta.db_table)
    assignment_column, updated_column = quote("assignment_id"), quote("updated_at")
    sql = (
        f"WITH claim AS MATERIALIZED ({claim_sql}) "  # noqa: S608 (the ORM's SQL and our own names)
        f"UPDATE {table} SET {assignment_column} = %s, {updated_column} = %s "
        f"WHERE id IN (SELECT id FROM claim) AND {assignment_column} IS NULL RETURNING id"
    )
    stamp = Contact._meta.get_field("updated_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*claim_params, assignment.pk, stamp])
        # Counted from RETURNING: SQLite reports no rowcount for a statement that starts with WITH.
        return len(cursor.fetchall())


@transaction.atomic
def assignment_release(*, assignment: Assignment, include_replies: bool = False) -> int:
    """ "Done for today": the texter's unsent contacts (and, if asked, the conversations waiting for
    their reply) go back to the campaign's pool for other texters. Returns how many were released."""
    statuses = [ContactStatus.NEEDS_MESSAGE]
    if include_replies:
        statuses.append(ContactStatus.NEEDS_RESPONSE)
    released = Contact.objects.filter(assignment=assignment, status__in=statuses).update(
        assignment=None, updated_at=timezone.now()
    )
    publish_on_commit(
        texter_group(assignment.texter_id), "counts_changed", campaign_id=assignment.campaign_id, released=released
    )
    return released


# --- Message review: bulk reassign and unassign -------------------------------------------------

# Above this many contacts a bulk review action runs as a background job, in chunks of this size.
BULK_JOB_THRESHOLD = 2_000
BULK_CHUNK = 5_000


def _chunked(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@transaction.atomic
def contacts_reassign(*, contact_ids: Sequence[int], texter_ids: Sequence[int]) -> dict[int, int]:
    """Give these contacts (conversations included) to one texter, or split them evenly in id order.

    Contacts may come from several campaigns: each campaign's share is split on its own, and
    every texter must belong to each campaign's organization. Returns contacts moved per texter.
    """
    people = list(dict.fromkeys(texter_ids))
    if not people:
        raise ApplicationError("Choose at least one texter to reassign the conversations to.")
    by_campaign: dict[int, list[int]] = {}
    # campaign -> previous texter -> their contacts in this move (their pages say so and move on)
    previous_texters: dict[int, dict[int, list[int]]] = {}
    for chunk in _chunked(sorted(set(contact_ids)), BULK_CHUNK):
        for contact_id, campaign_id, old_texter in Contact.objects.filter(id__in=chunk).values_list(
            "id", "campaign_id", "assignment__texter_id"
        ):
            by_campaign.setdefault(campaign_id, []).append(contact_id)
            if old_texter is not None:
                previous_texters.setdefault(campaign_id, {}).setdefault(old_texter, []).append(contact_id)
    moved = dict.fromkeys(people, 0)
    now = timezone.now()
    campaigns = Campaign.objects.in_bulk(list(by_campaign))
    for campaign_id, ids in sorted(by_campaign.items()):
        campaign = campaigns[campaign_id]
        if campaign.is_archived:
            raise ApplicationError(f"“{campaign}” is archived: unarchive it before reassigning its contacts.")
        members = set(
            Membership.objects.filter(
                organization_id=campaign.organization_id, user_id__in=people, role__in=ASSIGNABLE_ROLES
            ).values_list("user_id", flat=True)
        )
        missing = [pk for pk in people if pk not in members]
        if missing:
            names = ", ".join(str(user) for user in User.objects.filter(pk__in=missing))
            raise ApplicationError(
                f"{names} can't text for “{campaign}”: they are not an active member of its organization."
            )
        ids.sort()
        share, extra = divmod(len(ids), len(people))
        start = 0
        for index, texter_id in enumerate(people):
            size = share + (1 if index < extra else 0)
            part = ids[start : start + size]
            start += size
            if not part:
                continue
            assignment, _ = Assignment.objects.get_or_create(campaign_id=campaign_id, texter_id=texter_id)
            for chunk in _chunked(part, BULK_CHUNK):
                moved[texter_id] += Contact.objects.filter(id__in=chunk).update(assignment=assignment, updated_at=now)
        taken_from = previous_texters.get(campaign_id, {})
        for texter_id, lost in taken_from.items():
            if texter_id not in people:
                publish_contacts_reassigned(texter_id=texter_id, campaign_id=campaign_id, contact_ids=lost)
        for texter_id in {*people, *taken_from}:
            publish_on_commit(texter_group(texter_id), "assignments_changed", campaign_id=campaign_id)
        publish_on_commit(campaign_group(campaign_id), "campaign_changed", campaign_id=campaign_id)
    return moved


@transaction.atomic
def contacts_unassign(*, contact_ids: Sequence[int]) -> int:
    """Take these contacts from their texters: unsent ones go back to the pool, conversations wait
    for an organizer to give them to someone."""
    affected: set[tuple[int, int]] = set()
    done = 0
    now = timezone.now()
    for chunk in _chunked(sorted(set(contact_ids)), BULK_CHUNK):
        rows = Contact.objects.filter(id__in=chunk, assignment__isnull=False)
        affected.update(rows.values_list("assignment__texter_id", "campaign_id").distinct())
        done += rows.update(assignment=None, updated_at=now)
    for texter_id, campaign_id in affected:
        publish_on_commit(texter_group(texter_id), "assignments_changed", campaign_id=campaign_id)
        publish_on_commit(campaign_group(campaign_id), "campaign_changed", campaign_id=campaign_id)
    return done


def contacts_close_many(*, contact_ids: Sequence[int]) -> int:
    done = 0
    now = timezone.now()
    for chunk in _chunked(sorted(set(contact_ids)), BULK_CHUNK):
        done += Contact.objects.filter(id__in=chunk).update(status=ContactStatus.CLOSED, updated_at=now)
    return done


# --- Campaign editor: the script tree, canned responses, copy ------------------------------------

OPT_OUT_WORDS = ("stop", "opt out", "opt-out", "optout", "unsubscribe")


def first_message_warnings(*, script: str, organization_name: str) -> list[str]:
    """What carriers and recipients expect of a first message that this one lacks."""
    text = script.lower()
    warnings = []
    if script.strip() and not any(word in text for word in OPT_OUT_WORDS):
        warnings.append("The first message says nothing about opting out: add something like “Reply STOP to opt out”.")
    if script.strip() and organization_name and organization_name.lower() not in text:
        warnings.append(
            f"The first message doesn't name your organization (“{organization_name}”): say who is texting."
        )
    return warnings


def _tree_nodes(node: Mapping[str, Any], depth: int = 0) -> Iterator[tuple[Mapping[str, Any], int]]:
    yield node, depth
    for child in node.get("children") or []:
        if not isinstance(child, Mapping):
            raise ApplicationError("The script could not be read: reload the page and try again.")
        yield from _tree_nodes(child, depth + 1)


@transaction.atomic
def script_tree_save(*, campaign: Campaign, tree: Mapping[str, Any]) -> InteractionStep:
    """Replace the campaign's script with `tree`, nested to any depth.

    `tree` is the root: {"id", "script", "question", "children": [{"id", "answer", "script",
    "question", "children": [...]}, ...]}. Steps keep their ids when the tree names them, so the
    survey answers recorded against them stay; steps left out of the tree are deleted. A step id
    from another campaign is ignored (treated as new).
    """
    if not isinstance(tree, Mapping):
        raise ApplicationError("The script could not be read: reload the page and try again.")
    for node, depth in _tree_nodes(tree):
        if depth and not str(node.get("answer") or "").strip():
            raise ApplicationError("Every answer needs a label, like “Yes”: fill in or remove the empty ones.")
        if len(str(node.get("answer") or "")) > 200 or len(str(node.get("question") or "")) > 500:
            raise ApplicationError("An answer label is at most 200 characters and a question at most 500.")
    existing = {step.pk: step for step in InteractionStep.objects.select_for_update().filter(campaign=campaign)}
    kept: set[int] = set()

    def save(node: Mapping[str, Any], parent: InteractionStep | None, position: int) -> InteractionStep:
        raw_id = node.get("id")
        step = existing.get(raw_id) if isinstance(raw_id, int) and raw_id not in kept else None
        if step is not None and (step.parent_id is None) != (parent is None):
            step = None  # the root stays the root: a tampered tree can't swap it with an answer
        if parent is None:
            step = step or next((s for s in existing.values() if s.parent_id is None), None)
        step = step or InteractionStep(campaign=campaign)
        step.parent = parent
        step.answer_option = "" if parent is None else str(node.get("answer") or "").strip()
        step.script = str(node.get("script") or "")
        step.question = str(node.get("question") or "").strip()
        step.position = position
        step.save()
        kept.add(step.pk)
        for index, child in enumerate(node.get("children") or []):
            save(child, step, index)
        return step

    root = save(tree, None, 0)
    InteractionStep.objects.filter(campaign=campaign).exclude(pk__in=kept).delete()
    return root


def canned_responses_import(*, campaign: Campaign, rows: Iterable[Sequence[str]]) -> int:
    """Add canned responses from CSV rows of Title,Text (a header row naming them is skipped)."""
    added = []
    position = campaign.canned_responses.count()
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and [cell.lower() for cell in cells[:2]] == ["title", "text"]:
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise ApplicationError(
                f"Row {number} needs a title and a text (two columns: Title,Text). Nothing was imported."
            )
        added.append(CannedResponse(campaign=campaign, title=cells[0][:200], text=cells[1], position=position))
        position += 1
    if not added:
        raise ApplicationError("The file has no canned responses: it needs two columns, Title and Text.")
    CannedResponse.objects.bulk_create(added)
    return len(added)


@transaction.atomic
def campaign_copy(*, campaign: Campaign, title: str | None = None, acting_user: User | None = None) -> Campaign:
    """A new, unstarted campaign with this one's settings, script tree and canned responses
    (shared ones, not texters' own), without contacts or texters."""
    copy = Campaign.objects.create(
        organization_id=campaign.organization_id,
        title=(title or f"Copy of {campaign.title}")[:200],
        **{name: getattr(campaign, name) for name in CAMPAIGN_SETTINGS_FIELDS},
    )
    steps = list(InteractionStep.objects.filter(campaign=campaign).order_by("id"))
    new_ids: dict[int, int] = {}
    pending = steps
    # Parents before children, whatever order the ids are in (a step may be re-parented).
    while pending:
        ready = [s for s in pending if s.parent_id is None or s.parent_id in new_ids]
        if not ready:  # a cycle cannot be saved through the services; skip what is unreachable
            break
        for step in ready:
            created = InteractionStep.objects.create(
                campaign=copy,
                parent_id=None if step.parent_id is None else new_ids[step.parent_id],
                answer_option=step.answer_option,
                script=step.script,
                question=step.question,
                position=step.position,
            )
            new_ids[step.pk] = created.pk
        pending = [s for s in pending if s.pk not in new_ids]
    CannedResponse.objects.bulk_create(
        [
            CannedResponse(campaign=copy, title=response.title, text=response.text, position=response.position)
            for response in CannedResponse.objects.filter(campaign=campaign, user__isnull=True)
        ]
    )
    return copy


# --- Contacts from a previous campaign ----------------------------------------------------------


def contacts_copy_from_campaign(
    *,
    campaign: Campaign,
    source: Campaign,
    answer: str = "",
    question_id: int | None = None,
    status: str = "",
    tag_id: int | None = None,
) -> int:
    """Add the contacts of `source` (same organization) matching the filters to `campaign`:
    everyone, or those who answered `answer` (any case) to the question `question_id` of
    `source`'s script, or to any question when it is None; with a question and no answer,
    everyone who answered that question. Also: those who hold `status` or carry the tag.

    Opted-out cells and cells already in `campaign` are left out. Only before the campaign starts,
    like an upload. Returns how many were added; streamed in chunks, never read whole.
    """
    if campaign.is_started:
        raise ApplicationError("This campaign has started: its contacts can no longer change.")
    if source.organization_id != campaign.organization_id or source.pk == campaign.pk:
        raise ApplicationError("Choose another campaign of the same organization.")
    contacts = Contact.objects.filter(campaign=source, is_opted_out=False)
    responses = QuestionResponse.objects.filter(interaction_step__campaign=source)
    if question_id is not None:
        if not InteractionStep.objects.filter(pk=question_id, campaign=source).exclude(question="").exists():
            raise ApplicationError(
                f"That question is not in “{source}”'s script: choose one of its questions, or any question."
            )
        responses = responses.filter(interaction_step_id=question_id)
    if answer.strip():
        responses = responses.filter(value__iexact=answer.strip())
    if question_id is not None or answer.strip():
        contacts = contacts.filter(id__in=responses.values("contact_id"))
    if status:
        contacts = contacts.filter(status=status)
    if tag_id is not None:
        contacts = contacts.filter(id__in=ContactTag.objects.filter(tag_id=tag_id).values("contact_id"))
    opted_out = OptOut.objects.filter(organization_id=campaign.organization_id).values("cell")
    contacts = contacts.exclude(cell__in=opted_out).order_by("id")
    batch: list[Contact] = []
    fields = ("first_name", "last_name", "cell", "zip", "external_id", "custom_fields", "timezone")
    with transaction.atomic():
        before = Contact.objects.filter(campaign=campaign).count()
        for row in contacts.values(*fields).iterator(chunk_size=BULK_CHUNK):
            batch.append(Contact(campaign=campaign, **row))
            if len(batch) >= BULK_CHUNK:
                # A cell already in the campaign is skipped by its unique constraint.
                Contact.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        if batch:
            Contact.objects.bulk_create(batch, ignore_conflicts=True)
        return Contact.objects.filter(campaign=campaign).count() - before


# --- Bulk script find and replace -----------------------------------------------------------------


@dataclass(frozen=True)
class ScriptChange:
    campaign: Campaign
    kind: str  # "script step" or "canned response"
    label: str
    before: str
    after: str


def _script_texts(*, organization_id: int, include_archived: bool) -> tuple[QuerySet[Campaign], Any, Any]:
    campaigns = Campaign.objects.filter(organization_id=organization_id)
    if not include_archived:
        campaigns = campaigns.filter(is_archived=False)
    steps = InteractionStep.objects.filter(campaign__in=campaigns).select_related("campaign").order_by("campaign", "id")
    canned = CannedResponse.objects.filter(campaign__in=campaigns, user__isnull=True).select_related("campaign")
    return campaigns, steps, canned.order_by("campaign", "id")


def script_find_replace(
    *, organization_id: int, find: str, replace: str, include_archived: bool = False, apply: bool = False
) -> list[ScriptChange]:
    """Every script and canned response of the organization's campaigns containing `find` (exact,
    case-sensitive), with the text it would become; `apply=True` also saves them."""
    if not find:
        raise ApplicationError("Type the text to find.")
    _, steps, canned = _script_texts(organization_id=organization_id, include_archived=include_archived)
    changes: list[ScriptChange] = []
    with transaction.atomic():
        for step in steps.filter(script__contains=find):
            after = step.script.replace(find, replace)
            label = "First message" if step.parent_id is None else f"Answer “{step.answer_option}”"
            changes.append(ScriptChange(step.campaign, "script", label, step.script, after))
            if apply:
                InteractionStep.objects.filter(pk=step.pk).update(script=after)
        for response in canned.filter(text__contains=find):
            after = response.text.replace(find, replace)
            changes.append(ScriptChange(response.campaign, "canned response", response.title, response.text, after))
            if apply:
                CannedResponse.objects.filter(pk=response.pk).update(text=after)
    return changes
