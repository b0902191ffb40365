"""The prepared lock statement gives the same objects as the ORM, and the same refusals."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.db import transaction
from django.db.models import Model, OuterRef, Subquery

from accounts.models import Membership, Role, User
from campaigns.models import Assignment, Contact, ContactStatus, InteractionStep
from core.errors import ApplicationError
from spoke.testing import AssignmentFactory, ContactFactory
from texting.hot_sql import ACTIVE_ROLES, contact_lock_for_texter, row_insert, row_update
from texting.models import Direction, Message
from texting.services import message_send, texter_skip

pytestmark = pytest.mark.django_db

NY_NOON = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)  # inside the campaign's texting hours


def _orm_contact(*, texter: User, contact_id: int) -> Contact:
    """The statement as the ORM built it before the hot path moved to prepared SQL: the reference."""
    root_script = InteractionStep.objects.filter(campaign_id=OuterRef("campaign_id"), parent__isnull=True).values(
        "script"
    )[:1]
    return (
        Contact.objects.select_related("assignment", "campaign", "campaign__organization")
        .annotate(first_script=Subquery(root_script))
        .get(
            pk=contact_id,
            assignment__texter=texter,
            campaign__organization__memberships__user=texter,
            campaign__organization__memberships__role__in=ACTIVE_ROLES,
        )
    )


def _values(instance: Model) -> dict[str, object]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_the_prepared_lock_loads_what_the_orm_loads(texter: User, contact: Contact) -> None:
    send_key = uuid.uuid4()
    Contact.objects.filter(pk=contact.pk).update(
        custom_fields={"precinct": "12-B", "visits": 3, "tags": ["a", "b"], "nested": {"ok": True}},
        timezone="America/Chicago",
        last_send_key=send_key,
        is_opted_out=True,
        error_code=30007,
    )
    with transaction.atomic():
        prepared = contact_lock_for_texter(texter_id=texter.pk, contact_id=contact.pk)
    expected = _orm_contact(texter=texter, contact_id=contact.pk)
    assert prepared is not None
    assert _values(prepared) == _values(expected)
    assert prepared.custom_fields == {"precinct": "12-B", "visits": 3, "tags": ["a", "b"], "nested": {"ok": True}}
    assert prepared.last_send_key == send_key and prepared.is_opted_out is True
    assert isinstance(prepared.created_at, dt.datetime) and prepared.created_at.tzinfo is not None
    assert prepared.assignment is not None and expected.assignment is not None
    assert _values(prepared.assignment) == _values(expected.assignment)
    assert _values(prepared.campaign) == _values(expected.campaign)
    assert _values(prepared.campaign.organization) == _values(expected.campaign.organization)
    assert prepared.first_script == expected.first_script  # type: ignore[attr-defined]
    assert prepared.first_script.startswith("Hi {firstName}")  # type: ignore[attr-defined]
    assert not prepared._state.adding and prepared._state.db == expected._state.db


def test_the_related_objects_come_with_the_row(
    texter: User, contact: Contact, django_assert_num_queries: object
) -> None:
    with transaction.atomic():
        prepared = contact_lock_for_texter(texter_id=texter.pk, contact_id=contact.pk)
    assert prepared is not None
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert prepared.campaign.organization.pk == contact.campaign.organization_id
        assert prepared.assignment is not None and prepared.assignment.texter_id == texter.pk


def test_without_a_root_script_first_script_is_none(texter: User, contact: Contact) -> None:
    InteractionStep.objects.filter(campaign=contact.campaign).delete()
    with transaction.atomic():
        prepared = contact_lock_for_texter(texter_id=texter.pk, contact_id=contact.pk)
    assert prepared is not None and prepared.first_script is None  # type: ignore[attr-defined]


def test_another_texter_gets_not_assigned(other_texter: User, contact: Contact) -> None:
    with pytest.raises(ApplicationError) as refused:
        texter_skip(texter=other_texter, contact_id=contact.pk)
    assert refused.value.code == "not_assigned"


def test_a_suspended_texter_gets_not_assigned(texter: User, contact: Contact) -> None:
    Membership.objects.filter(user=texter).update(role=Role.SUSPENDED)
    with pytest.raises(ApplicationError) as refused:
        texter_skip(texter=texter, contact_id=contact.pk)
    assert refused.value.code == "not_assigned"


def test_a_texter_who_left_the_organization_gets_not_assigned(texter: User, contact: Contact) -> None:
    Membership.objects.filter(user=texter).delete()
    with pytest.raises(ApplicationError) as refused:
        texter_skip(texter=texter, contact_id=contact.pk)
    assert refused.value.code == "not_assigned"


def test_an_unassigned_or_missing_contact_gets_not_assigned(texter: User, contact: Contact) -> None:
    unassigned = ContactFactory.create(campaign=contact.campaign, assignment=None)
    for contact_id in (unassigned.pk, contact.pk + 1000):
        with pytest.raises(ApplicationError) as refused:
            texter_skip(texter=texter, contact_id=contact_id)
        assert refused.value.code == "not_assigned"


def test_an_assignment_in_another_organization_does_not_unlock_this_one(
    texter: User, contact: Contact, outsider: User
) -> None:
    # The outsider is active in their own organization only: owning an assignment here is not enough.
    theirs: Assignment = AssignmentFactory.create(campaign=contact.campaign, texter=outsider)
    Contact.objects.filter(pk=contact.pk).update(assignment=theirs)
    with pytest.raises(ApplicationError) as refused:
        texter_skip(texter=outsider, contact_id=contact.pk)
    assert refused.value.code == "not_assigned"


def test_the_queued_message_is_the_row_that_was_stored(texter: User, contact: Contact) -> None:
    send_key = uuid.uuid4()
    with time_machine.travel(NY_NOON, tick=False):
        message = message_send(texter=texter, contact_id=contact.pk, body="", send_key=send_key)
    stored = Message.objects.get(pk=message.pk)
    assert _values(message) == _values(stored)
    assert not message._state.adding
    contact.refresh_from_db()
    assert (contact.status, contact.last_send_key, contact.updated_at) == (ContactStatus.MESSAGED, send_key, NY_NOON)


def test_a_repeated_inbound_sid_inserts_nothing(contact: Contact) -> None:
    first = Message(contact=contact, direction=Direction.INBOUND, body="hi", status="received", provider_sid="SMx")
    again = Message(contact=contact, direction=Direction.INBOUND, body="hi", status="received", provider_sid="SMx")
    assert row_insert(first, skip_conflict_on="provider_sid") is True
    assert row_insert(again, skip_conflict_on="provider_sid") is False
    assert again.pk is None and Message.objects.get().pk == first.pk


def test_row_update_changes_only_rows_matching_every_condition(contact: Contact) -> None:
    values = {"status": ContactStatus.NEEDS_RESPONSE}
    Contact.objects.filter(pk=contact.pk).update(is_opted_out=True)
    assert row_update(Contact, pk=contact.pk, values=values, where={"is_opted_out": False}) == 0
    Contact.objects.filter(pk=contact.pk).update(is_opted_out=False)
    assert row_update(Contact, pk=contact.pk, values=values, where={"is_opted_out": False}) == 1
    contact.refresh_from_db()
    assert contact.status == ContactStatus.NEEDS_RESPONSE
