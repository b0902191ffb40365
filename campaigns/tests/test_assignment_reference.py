"""A contact's assignment always exists: on PostgreSQL triggers keep the promise the foreign key
kept (migration 0004), with the bulk hand-out checking its assignments once instead of per row."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction

from accounts.models import Organization, User
from campaigns import services
from campaigns.models import Assignment, Campaign, Contact
from campaigns.services import contacts_assign_many
from core.errors import ApplicationError
from spoke.testing import AssignmentFactory, CampaignFactory

pytestmark = pytest.mark.django_db

# SQLite (development) has no database-level check for this reference: Django's on_delete still
# clears it. The triggers are PostgreSQL's, what CI and production run.
# Each trigger test names the database it ran on; on SQLite it checks that there is indeed no
# database-level check to test (the contact table has no triggers), which is what the comment says.
on_this_database = pytest.mark.parametrize("database", [connection.vendor])


def _triggers_here(database: str) -> bool:
    """True on PostgreSQL (the triggers exist: test them); on SQLite, checks there are none."""
    if database == "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)", [CONTACTS, ASSIGNMENTS]
        )
        assert cursor.fetchall() == []
    return False


CONTACTS, ASSIGNMENTS = Contact._meta.db_table, Assignment._meta.db_table


@pytest.fixture
def draft(organization: Organization) -> Campaign:
    return CampaignFactory.create(organization=organization, is_started=False, started_at=None)


def _pool(campaign: Campaign, n: int) -> list[int]:
    contacts = Contact.objects.bulk_create(
        [Contact(campaign=campaign, cell=f"+1202{3_000_000 + i:07d}") for i in range(n)]
    )
    return sorted(contact.pk for contact in contacts)


def _texters(n: int, prefix: str = "ref") -> list[User]:
    return User.objects.bulk_create([User(email=f"{prefix}{i}@example.com", password="!") for i in range(n)])


def _execute(sql: str, params: list[Any]) -> None:
    # A savepoint of its own, so the test's transaction survives the refusal.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_deleting_an_assignment_through_django_returns_its_contacts_to_the_pool(draft: Campaign) -> None:
    ids = _pool(draft, 3)
    (ada,) = _texters(1)
    contacts_assign_many(campaign=draft, counts=[(ada, 3)])

    Assignment.objects.get(campaign=draft, texter=ada).delete()

    assert list(Contact.objects.filter(id__in=ids).values_list("assignment_id", flat=True)) == [None, None, None]


def test_deleting_a_texter_or_a_campaign_with_handed_out_contacts_goes_through(draft: Campaign) -> None:
    # The database checks at the end of each statement now, not at commit: Django's deletion order
    # (contacts set to NULL or deleted before their assignments) must satisfy it as it is.
    ids = _pool(draft, 6)
    ada, grace = _texters(2)
    contacts_assign_many(campaign=draft, counts=[(ada, 3), (grace, 3)])

    ada.delete()
    assert not Assignment.objects.filter(texter_id=ada.pk).exists()
    assert Contact.objects.filter(id__in=ids, assignment__isnull=True).count() == 3

    draft.delete()
    assert not Contact.objects.filter(id__in=ids).exists()
    assert not Assignment.objects.filter(texter=grace).exists()


@on_this_database
def test_an_assignment_contacts_point_at_cannot_be_deleted_rekeyed_or_truncated(
    draft: Campaign, texter: User, database: str
) -> None:
    if not _triggers_here(database):
        return
    assignment = AssignmentFactory.create(campaign=draft, texter=texter)
    contact = Contact.objects.create(campaign=draft, cell="+12025550100", assignment=assignment)

    with pytest.raises(IntegrityError, match="still referenced"):
        _execute(f"DELETE FROM {ASSIGNMENTS} WHERE id = %s", [assignment.pk])  # noqa: S608
    with pytest.raises(IntegrityError, match="still referenced"):
        _execute(f"UPDATE {ASSIGNMENTS} SET id = id + 1000000 WHERE id = %s", [assignment.pk])  # noqa: S608
    # TRUNCATE refuses to run while deferred checks of this transaction's inserts are pending.
    _execute("SET CONSTRAINTS ALL IMMEDIATE", [])
    with pytest.raises(IntegrityError, match="contacts still point at its rows"):
        _execute(f"TRUNCATE {ASSIGNMENTS}", [])

    contact.refresh_from_db()
    assert contact.assignment_id == assignment.pk
    assert Assignment.objects.filter(pk=assignment.pk).exists()
    # Once nothing points at it, it goes like any row.
    Contact.objects.filter(pk=contact.pk).update(assignment=None)
    _execute(f"DELETE FROM {ASSIGNMENTS} WHERE id = %s", [assignment.pk])  # noqa: S608
    assert not Assignment.objects.filter(pk=assignment.pk).exists()


@on_this_database
def test_a_contact_cannot_point_at_an_assignment_that_does_not_exist(draft: Campaign, database: str) -> None:
    if not _triggers_here(database):
        return
    missing = (Assignment.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000
    contact = Contact.objects.create(campaign=draft, cell="+12025550101")

    with pytest.raises(IntegrityError, match="is not present"), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(assignment_id=missing)
    with pytest.raises(IntegrityError, match="is not present"), transaction.atomic():
        Contact.objects.create(campaign=draft, cell="+12025550102", assignment_id=missing)

    contact.refresh_from_db()
    assert contact.assignment_id is None


@on_this_database
def test_the_bulk_hand_out_turns_the_row_check_back_on_for_the_rest_of_the_transaction(
    draft: Campaign, database: str
) -> None:
    if not _triggers_here(database):
        return
    ids = _pool(draft, 20)
    ada, grace = _texters(2)
    missing = (Assignment.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000

    with transaction.atomic():
        assert contacts_assign_many(campaign=draft, counts=[(ada, 5), (grace, 5)]) == {ada.pk: 5, grace.pk: 5}
        # Later writes in the same transaction are checked row by row again.
        with pytest.raises(IntegrityError, match="is not present"), transaction.atomic():
            Contact.objects.filter(pk=ids[-1]).update(assignment_id=missing)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting(%s, true)", [services.ASSIGNMENTS_CHECKED_SETTING])
            assert cursor.fetchone()[0] == "off"


@on_this_database
def test_a_hand_out_whose_assignment_vanished_assigns_nothing(
    draft: Campaign, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    if not _triggers_here(database):
        return
    ids = _pool(draft, 10)
    ada, grace = _texters(2)
    real = services._assignments_for

    def and_one_is_deleted(*, campaign: Campaign, texter_ids: list[int]) -> dict[int, int]:
        found = real(campaign=campaign, texter_ids=texter_ids)
        # What a concurrent delete that committed just before the lock would leave.
        Assignment.objects.filter(pk=found[grace.pk]).delete()
        return found

    monkeypatch.setattr(services, "_assignments_for", and_one_is_deleted)

    with pytest.raises(ApplicationError, match="nothing was assigned"):
        contacts_assign_many(campaign=draft, counts=[(ada, 5), (grace, 5)])

    assert not Contact.objects.filter(id__in=ids, assignment__isnull=False).exists()
    assert not Assignment.objects.filter(campaign=draft).exists()


def _wait_until_blocked(pid: int) -> None:
    """Until the backend `pid` waits on a lock another session holds (bounded: a test, not a hang)."""
    deadline = time.monotonic() + 10
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s))", [pid])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for the lock")


@on_this_database
@pytest.mark.django_db(transaction=True)
def test_a_delete_racing_a_bulk_hand_out_waits_for_it_and_is_then_refused(
    organization: Organization, database: str
) -> None:
    if not _triggers_here(database):
        return
    campaign = CampaignFactory.create(organization=organization, is_started=False, started_at=None)
    ids = _pool(campaign, 30)
    ada, grace = _texters(2, prefix="race")
    # Committed before the race, so the other session sees the row it deletes.
    AssignmentFactory.create(campaign=campaign, texter=grace)
    outcome: dict[str, Any] = {}
    deleter_pid: list[int] = []

    def delete_grace_assignment() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                deleter_pid.append(cursor.fetchone()[0])
                started.set()
                cursor.execute(
                    f"DELETE FROM {ASSIGNMENTS} WHERE campaign_id = %s AND texter_id = %s",  # noqa: S608
                    [campaign.pk, grace.pk],
                )
            outcome["deleted"] = True
        except IntegrityError as refused:
            outcome["refused"] = str(refused)
        finally:
            connections.close_all()

    started = threading.Event()
    with transaction.atomic():
        given = contacts_assign_many(campaign=campaign, counts=[(ada, 10), (grace, 10)])
        # The hand-out holds its assignments FOR KEY SHARE until it commits: the delete must wait.
        deleter = threading.Thread(target=delete_grace_assignment)
        deleter.start()
        started.wait(timeout=10)
        _wait_until_blocked(deleter_pid[0])
    deleter.join(timeout=10)

    assert given == {ada.pk: 10, grace.pk: 10}
    assert "still referenced" in outcome.get("refused", ""), outcome
    held = Contact.objects.filter(id__in=ids, assignment__texter=grace)
    assert held.count() == 10
    assert Assignment.objects.filter(campaign=campaign, texter=grace).exists()
