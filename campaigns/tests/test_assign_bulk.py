"""Assignment in bulk: many texters at once in one set-based statement (PostgreSQL), exact counts
on every database, and a statement count that does not grow with the texters on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.db import connection

from accounts.models import Organization, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus
from campaigns.services import contacts_assign, contacts_assign_many, contacts_split_evenly
from core.errors import ApplicationError
from spoke.testing import AssignmentFactory, CampaignFactory

pytestmark = pytest.mark.django_db


def _pool(campaign: Campaign, n: int, **fields: Any) -> list[int]:
    contacts = Contact.objects.bulk_create(
        [Contact(campaign=campaign, cell=f"+1202{2_000_000 + i:07d}", **fields) for i in range(n)]
    )
    return sorted(contact.pk for contact in contacts)


def _texters(n: int) -> list[User]:
    # Built in bulk: the factory hashes a password for each.
    return User.objects.bulk_create([User(email=f"bulk{i}@example.com", password="!") for i in range(n)])


@pytest.fixture
def draft(organization: Organization) -> Campaign:
    return CampaignFactory.create(organization=organization, is_started=False, started_at=None)


def test_each_texter_gets_exactly_their_count_in_id_order(
    draft: Campaign, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    ids = _pool(draft, 30)
    ada, grace, katherine, zero = _texters(4)

    given = contacts_assign_many(campaign=draft, counts=[(ada, 5), (zero, 0), (grace, 10), (katherine, 7)])

    assert given == {ada.pk: 5, zero.pk: 0, grace.pk: 10, katherine.pk: 7}
    held = {
        texter.pk: sorted(Contact.objects.filter(assignment__texter=texter).values_list("id", flat=True))
        for texter in (ada, grace, katherine)
    }
    # The first texter takes the first contacts, the next the following ones.
    assert held == {ada.pk: ids[:5], grace.pk: ids[5:15], katherine.pk: ids[15:22]}
    assert Contact.objects.filter(campaign=draft, assignment__isnull=True).count() == 8
    # Everyone named has an assignment, even with nothing to do yet; only those who got contacts hear of it.
    assert Assignment.objects.filter(campaign=draft).count() == 4
    assert sorted(group for group, _, _ in published) == sorted(f"texter.{t.pk}" for t in (ada, grace, katherine))


def test_a_short_pool_fills_the_first_texters_first(draft: Campaign) -> None:
    _pool(draft, 12)
    ada, grace, katherine = _texters(3)

    given = contacts_assign_many(campaign=draft, counts=[(ada, 5), (grace, 5), (katherine, 5)])

    assert given == {ada.pk: 5, grace.pk: 5, katherine.pk: 2}
    assert not Contact.objects.filter(campaign=draft, assignment__isnull=True).exists()


def test_only_unassigned_contacts_waiting_for_a_first_message_are_handed_out(
    draft: Campaign, other_texter: User
) -> None:
    fresh = _pool(draft, 3)
    theirs = AssignmentFactory.create(campaign=draft, texter=other_texter)
    Contact.objects.create(campaign=draft, cell="+12025550001", assignment=theirs)
    Contact.objects.create(campaign=draft, cell="+12025550002", is_opted_out=True)
    Contact.objects.create(campaign=draft, cell="+12025550003", status=ContactStatus.CLOSED)
    (ada,) = _texters(1)

    assert contacts_assign_many(campaign=draft, counts=[(ada, 10)]) == {ada.pk: 3}
    assert sorted(Contact.objects.filter(assignment__texter=ada).values_list("id", flat=True)) == fresh
    assert Contact.objects.filter(assignment=theirs).count() == 1


def test_the_same_texter_twice_gets_both_counts(draft: Campaign) -> None:
    _pool(draft, 10)
    (ada,) = _texters(1)
    assert contacts_assign_many(campaign=draft, counts=[(ada, 2), (ada, 3)]) == {ada.pk: 5}
    assert Assignment.objects.get(campaign=draft, texter=ada).contacts.count() == 5


def test_negative_counts_and_archived_campaigns_are_refused_before_anything_changes(draft: Campaign) -> None:
    _pool(draft, 4)
    ada, grace = _texters(2)
    with pytest.raises(ApplicationError, match="can't be negative"):
        contacts_assign_many(campaign=draft, counts=[(ada, 2), (grace, -1)])
    Campaign.objects.filter(pk=draft.pk).update(is_archived=True)
    draft.refresh_from_db()
    with pytest.raises(ApplicationError, match="archived"):
        contacts_assign_many(campaign=draft, counts=[(ada, 2)])
    assert not Assignment.objects.filter(campaign=draft).exists()


def test_split_evenly_over_many_texters_is_exact(draft: Campaign) -> None:
    _pool(draft, 1_003)
    people = _texters(10)

    shares = contacts_split_evenly(campaign=draft, texters=people)

    assert shares == {person.pk: 101 if i < 3 else 100 for i, person in enumerate(people)}
    for person in people:
        assert Contact.objects.filter(assignment__texter=person).count() == shares[person.pk]
    assert not Contact.objects.filter(campaign=draft, assignment__isnull=True).exists()


def test_assigning_costs_the_same_statements_for_one_texter_or_twenty_on_postgresql(
    draft: Campaign, assert_statements: Any
) -> None:
    _pool(draft, 200)
    people = _texters(21)
    # PostgreSQL: create the missing assignments, read their ids, lock them (the per-row assignment
    # check goes off), one UPDATE for every contact, the check back on. Elsewhere (SQLite) the
    # hand-out takes a SELECT and an UPDATE per texter.
    base, per_texter = (5, 0) if connection.vendor == "postgresql" else (2, 2)
    with assert_statements(base + per_texter):
        assert contacts_assign(campaign=draft, texter=people[0], count=5) == 5
    with assert_statements(base + 20 * per_texter):
        given = contacts_assign_many(campaign=draft, counts=[(person, 5) for person in people[1:]])
    assert sum(given.values()) == 100


@pytest.mark.parametrize("database", [connection.vendor])
def test_the_unique_indexes_leave_room_for_the_hand_outs_second_entries(database: str) -> None:
    if database != "postgresql":
        # SQLite has no index fill factor: the migration is applied and changes nothing there.
        from django.db.migrations.recorder import MigrationRecorder

        applied = MigrationRecorder(connection).applied_migrations()
        assert ("campaigns", "0005_contact_unique_indexes_leave_room") in applied
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN (%s, %s) ORDER BY relname",
            ["campaigns_contact_pkey", "contact_unique_cell_campaign"],
        )
        assert cursor.fetchall() == [
            ("campaigns_contact_pkey", ["fillfactor=50"]),
            ("contact_unique_cell_campaign", ["fillfactor=50"]),
        ]


def test_every_texter_handed_contacts_hears_of_it_once_the_hand_out_commits(
    draft: Campaign, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    _pool(draft, 30)
    people = _texters(4)
    sent: list[tuple[str, dict[str, Any]]] = []

    async def record(group: str, message: dict[str, Any]) -> None:
        sent.append((group, message))

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        contacts_assign_many(campaign=draft, counts=[(people[0], 10), (people[1], 0), (people[2], 10), (people[3], 5)])
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()

    event = {"type": "live.event", "event": "assignments_changed", "payload": {"campaign_id": draft.pk}}
    assert sent == [(f"texter.{people[i].pk}", event) for i in (0, 2, 3)]


def test_a_failing_channel_layer_costs_the_hand_out_nothing_and_is_logged_once(
    draft: Campaign,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _pool(draft, 30)
    people = _texters(3)
    attempts: list[str] = []

    async def down(group: str, message: dict[str, Any]) -> None:
        attempts.append(group)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(get_channel_layer(), "group_send", down)
    with django_capture_on_commit_callbacks(execute=True):
        given = contacts_assign_many(campaign=draft, counts=[(person, 10) for person in people])

    assert sum(given.values()) == 30
    assert Contact.objects.filter(campaign=draft, assignment__isnull=False).count() == 30
    # The first failure stops the round: the other groups would only wait out the same error.
    assert attempts == [f"texter.{people[0].pk}"]
    assert [r.getMessage() for r in caplog.records if r.name == "core.live"] == [
        "live update assignments_changed failed: 3 of 3 groups not told"
    ]
