"""Dynamic assignment: joining by link, requesting more in batches, handing contacts back."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Count

from accounts.models import Membership, Organization, Role, User
from campaigns.models import Assignment, Campaign, Contact, ContactStatus
from campaigns.services import assignment_join, assignment_release, contacts_request_more
from core.errors import ApplicationError
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# 12:00 in New York, 09:00 in Los Angeles, 06:00 in Honolulu.
NY_NOON = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def dynamic(organization: Organization) -> Campaign:
    return CampaignFactory.create(organization=organization, use_dynamic_assignment=True, batch_size=3)


def pool(campaign: Campaign, n: int, **kwargs: Any) -> list[Contact]:
    return ContactFactory.create_batch(n, campaign=campaign, **kwargs)


# --- Join ------------------------------------------------------------------------------------------


def test_a_member_joins_with_an_empty_assignment_once(
    dynamic: Campaign, texter: User, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    first = assignment_join(campaign=dynamic, user=texter)
    again = assignment_join(campaign=dynamic, user=texter)
    assert first.pk == again.pk
    assert Assignment.objects.filter(campaign=dynamic, texter=texter).count() == 1
    assert not Contact.objects.filter(assignment=first).exists()
    assert published == [(f"texter.{texter.pk}", "assignments_changed", {"campaign_id": dynamic.pk})]


def test_someone_outside_the_organization_is_told_to_ask_for_an_invitation(dynamic: Campaign, outsider: User) -> None:
    with pytest.raises(ApplicationError) as error:
        assignment_join(campaign=dynamic, user=outsider)
    assert error.value.code == "not_member" and error.value.status == 403
    assert "Ask an organizer to invite you" in error.value.message
    assert not Assignment.objects.filter(texter=outsider).exists()


def test_a_suspended_member_cannot_join(dynamic: Campaign, organization: Organization) -> None:
    user = UserFactory.create()
    MembershipFactory.create(user=user, organization=organization, role=Role.SUSPENDED)
    with pytest.raises(ApplicationError, match="not one of them"):
        assignment_join(campaign=dynamic, user=user)


def test_joining_a_campaign_without_dynamic_assignment_or_archived_is_refused(
    campaign: Campaign, dynamic: Campaign, texter: User
) -> None:
    with pytest.raises(ApplicationError) as error:
        assignment_join(campaign=campaign, user=texter)
    assert error.value.code == "not_dynamic"
    Campaign.objects.filter(pk=dynamic.pk).update(is_archived=True)
    dynamic.refresh_from_db()
    with pytest.raises(ApplicationError) as error:
        assignment_join(campaign=dynamic, user=texter)
    assert error.value.code == "archived"


# --- Request more ------------------------------------------------------------------------------------


def test_request_more_hands_out_one_batch_in_order(
    dynamic: Campaign, texter: User, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    contacts = pool(dynamic, 5)
    assignment = assignment_join(campaign=dynamic, user=texter)
    published.clear()
    assert contacts_request_more(assignment=assignment, now=NY_NOON) == 3
    assert list(Contact.objects.filter(assignment=assignment).values_list("id", flat=True)) == [
        c.pk for c in contacts[:3]
    ]
    assert published == [(f"texter.{texter.pk}", "assignment_grew", {"campaign_id": dynamic.pk, "added": 3})]
    assert contacts_request_more(assignment=assignment, now=NY_NOON) == 2
    with pytest.raises(ApplicationError) as error:
        contacts_request_more(assignment=assignment, now=NY_NOON)
    assert error.value.code == "pool_empty"
    assert "no more contacts" in error.value.message


def test_request_more_hands_out_only_contacts_inside_texting_hours(dynamic: Campaign, texter: User) -> None:
    dynamic.organization.texting_hours_enforced = True
    dynamic.organization.save()
    pool(dynamic, 2, timezone="Pacific/Honolulu")  # 06:00 there: too early
    inside = pool(dynamic, 1, timezone="America/Chicago")
    assignment = assignment_join(campaign=dynamic, user=texter)
    assert contacts_request_more(assignment=assignment, now=NY_NOON) == 1
    assert list(Contact.objects.filter(assignment=assignment)) == inside
    with pytest.raises(ApplicationError) as error:
        contacts_request_more(assignment=assignment, now=NY_NOON)
    assert error.value.code == "outside_hours"
    assert "outside texting hours" in error.value.message


def test_contacts_without_a_timezone_follow_the_campaigns(dynamic: Campaign, texter: User) -> None:
    dynamic.organization.texting_hours_enforced = True
    dynamic.organization.save()
    Campaign.objects.filter(pk=dynamic.pk).update(timezone="Pacific/Honolulu")
    dynamic.refresh_from_db()
    pool(dynamic, 2, timezone="")
    assignment = assignment_join(campaign=dynamic, user=texter)
    with pytest.raises(ApplicationError, match="outside texting hours"):
        contacts_request_more(assignment=assignment, now=NY_NOON)
    assert contacts_request_more(assignment=assignment, now=NY_NOON + dt.timedelta(hours=6)) == 2


def test_request_more_stops_at_the_max_per_texter(dynamic: Campaign, texter: User) -> None:
    Campaign.objects.filter(pk=dynamic.pk).update(max_contacts_per_texter=4)
    dynamic.refresh_from_db()
    pool(dynamic, 10)
    assignment = assignment_join(campaign=dynamic, user=texter)
    assert contacts_request_more(assignment=assignment, now=NY_NOON) == 3
    assert contacts_request_more(assignment=assignment, now=NY_NOON) == 1
    with pytest.raises(ApplicationError) as error:
        contacts_request_more(assignment=assignment, now=NY_NOON)
    assert error.value.code == "limit_reached"
    assert "limit of 4 contacts" in error.value.message


def test_request_more_skips_opted_out_and_assigned_contacts(
    dynamic: Campaign, texter: User, other_texter: User
) -> None:
    pool(dynamic, 1, is_opted_out=True)
    pool(dynamic, 1, assignment=AssignmentFactory.create(campaign=dynamic, texter=other_texter))
    pool(dynamic, 1, status=ContactStatus.CLOSED)
    fresh = pool(dynamic, 1)
    assignment = assignment_join(campaign=dynamic, user=texter)
    assert contacts_request_more(assignment=assignment, now=NY_NOON) == 1
    assert list(Contact.objects.filter(assignment=assignment)) == fresh


def test_request_more_is_refused_without_dynamic_assignment_or_before_the_start(
    campaign: Campaign, assignment: Assignment, dynamic: Campaign, texter: User
) -> None:
    with pytest.raises(ApplicationError) as error:
        contacts_request_more(assignment=assignment, now=NY_NOON)
    assert error.value.code == "not_dynamic"
    mine = assignment_join(campaign=dynamic, user=texter)
    Campaign.objects.filter(pk=dynamic.pk).update(is_started=False)
    with pytest.raises(ApplicationError) as error:
        contacts_request_more(assignment=mine, now=NY_NOON)
    assert error.value.code == "not_active"


def test_request_more_costs_a_fixed_number_of_statements(
    dynamic: Campaign, texter: User, assert_statements: Any
) -> None:
    assignment = assignment_join(campaign=dynamic, user=texter)
    pool(dynamic, 4)
    # The campaign, then one UPDATE claiming the batch (SELECT … FOR UPDATE SKIP LOCKED inside):
    # the open timezones come from the clock, not from grouping the pool.
    with assert_statements(2):
        contacts_request_more(assignment=assignment, now=NY_NOON)
    pool(dynamic, 40, timezone="America/Chicago")
    with assert_statements(2):
        contacts_request_more(assignment=assignment, now=NY_NOON)


@pytest.mark.django_db(transaction=True)
# The claim uses SKIP LOCKED on PostgreSQL (what CI runs); on SQLite its write lock serializes the
# same threads. The test id names the database it ran on.
@pytest.mark.parametrize("database", [connection.vendor])
def test_concurrent_requests_never_get_the_same_contact(organization: Organization, database: str) -> None:
    campaign = CampaignFactory.create(organization=organization, use_dynamic_assignment=True, batch_size=5)
    Contact.objects.bulk_create(
        [Contact(campaign=campaign, cell=f"+1202555{i:04d}", timezone="America/New_York") for i in range(120)]
    )
    texters = []
    for i in range(6):
        user = UserFactory.create(email=f"racer{i}@example.com")
        Membership.objects.create(user=user, organization=organization, role=Role.TEXTER)
        texters.append(assignment_join(campaign=campaign, user=user))
    barrier = threading.Barrier(len(texters))
    got: dict[int, int] = {}

    def worker(assignment: Assignment) -> None:
        try:
            barrier.wait()
            total = 0
            while True:
                try:
                    total += contacts_request_more(assignment=assignment, now=NY_NOON)
                except ApplicationError:
                    break
            got[assignment.pk] = total
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(a,)) for a in texters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = {a.pk: Contact.objects.filter(assignment=a).count() for a in texters}
    assert counts == got  # what each was told it got is what it holds: nobody got a contact twice
    assert sum(counts.values()) == 120
    assert not Contact.objects.filter(assignment__isnull=True).exists()
    assert sum(1 for n in counts.values() if n) > 1, "the texters should have shared the pool"


@pytest.mark.django_db(transaction=True)
# 500 texters asking at once, served by 50 concurrent database connections (what one machine's
# web processes hold): each thread asks for its 10 texters in turn until the pool runs dry. On
# PostgreSQL (CI) the claims race through SKIP LOCKED; SQLite serializes them with its write lock.
@pytest.mark.parametrize("database", [connection.vendor])
def test_fifty_connections_for_five_hundred_texters_never_hand_out_a_contact_twice(
    organization: Organization, database: str
) -> None:
    campaign = CampaignFactory.create(organization=organization, use_dynamic_assignment=True, batch_size=4)
    zones = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
    Contact.objects.bulk_create(
        [Contact(campaign=campaign, cell=f"+1202{2_000_000 + i:07d}", timezone=zones[i % 3]) for i in range(3_000)]
    )
    # Built in bulk: hashing 500 passwords would take longer than the race.
    users = User.objects.bulk_create([User(email=f"racer{i}@example.com", password="!") for i in range(500)])
    Membership.objects.bulk_create([Membership(user=u, organization=organization, role=Role.TEXTER) for u in users])
    assignments = Assignment.objects.bulk_create([Assignment(campaign=campaign, texter=u) for u in users])
    threads_count = 50
    barrier = threading.Barrier(threads_count)
    told: dict[int, int] = {}
    batches: list[int] = []
    errors: list[BaseException] = []

    def worker(mine: list[Assignment]) -> None:
        try:
            barrier.wait()
            active = list(mine)
            while active:
                for assignment in list(active):
                    try:
                        added = contacts_request_more(assignment=assignment, now=NY_NOON)
                    except ApplicationError as refused:
                        assert refused.code == "pool_empty", refused.message
                        active.remove(assignment)
                        continue
                    batches.append(added)
                    told[assignment.pk] = told.get(assignment.pk, 0) + added
        except BaseException as error:  # surfaced below: an assert in a thread would be lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(assignments[i::threads_count],)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    held = dict(
        Contact.objects.filter(campaign=campaign, assignment__isnull=False)
        .values_list("assignment_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    # What each texter was told they got is what they hold: no contact went to two texters
    # (a contact has one assignment column, so a double claim would show as a texter told of
    # contacts they do not hold), no batch was larger than the campaign's batch size, none left.
    assert held == {pk: n for pk, n in told.items() if n}
    assert sum(held.values()) == 3_000
    assert max(batches) <= 4
    assert not Contact.objects.filter(campaign=campaign, assignment__isnull=True).exists()
    assert len(held) > 50, "the texters should have shared the pool"


# --- Done for today ----------------------------------------------------------------------------------


def test_done_for_today_hands_back_unsent_contacts_and_keeps_conversations(
    dynamic: Campaign, texter: User, published: list[tuple[str, str, dict[str, Any]]]
) -> None:
    assignment = AssignmentFactory.create(campaign=dynamic, texter=texter)
    unsent = pool(dynamic, 2, assignment=assignment)
    waiting = pool(dynamic, 1, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
    talking = pool(dynamic, 1, assignment=assignment, status=ContactStatus.CONVO)
    assert assignment_release(assignment=assignment) == 2
    assert set(Contact.objects.filter(assignment__isnull=True)) == set(unsent)
    assert set(Contact.objects.filter(assignment=assignment)) == {*waiting, *talking}
    assert published == [
        (f"texter.{texter.pk}", "counts_changed", {"campaign_id": dynamic.pk, "released": 2}),
    ]


def test_done_for_today_can_hand_back_waiting_replies_too(dynamic: Campaign, texter: User) -> None:
    assignment = AssignmentFactory.create(campaign=dynamic, texter=texter)
    pool(dynamic, 1, assignment=assignment)
    pool(dynamic, 2, assignment=assignment, status=ContactStatus.NEEDS_RESPONSE)
    talking = pool(dynamic, 1, assignment=assignment, status=ContactStatus.CONVO)
    assert assignment_release(assignment=assignment, include_replies=True) == 3
    assert list(Contact.objects.filter(assignment=assignment)) == talking


def test_handed_back_contacts_go_to_the_next_texter_who_asks(
    dynamic: Campaign, texter: User, other_texter: User
) -> None:
    mine = AssignmentFactory.create(campaign=dynamic, texter=texter)
    contacts = pool(dynamic, 2, assignment=mine)
    assignment_release(assignment=mine)
    theirs = assignment_join(campaign=dynamic, user=other_texter)
    assert contacts_request_more(assignment=theirs, now=NY_NOON) == 2
    assert set(Contact.objects.filter(assignment=theirs)) == set(contacts)
