"""Writes to memberships and organization settings: back-office access follows roles, and an
organization never loses its last owner."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Organization, Role, User
from accounts.services import (
    OWNER_NEEDED,
    membership_check_owner_remains,
    membership_remove,
    membership_set,
    organization_settings_save,
)
from core.errors import ApplicationError
from spoke.testing import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def membership_of(user: User, organization: Organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)


# --- membership_remove -------------------------------------------------------------------------


def test_removing_an_organizer_takes_away_back_office_access(
    owner: User, supervolunteer: User, organization: Organization
) -> None:
    assert supervolunteer.is_staff
    membership_remove(membership=membership_of(supervolunteer, organization), acting_user=owner)
    assert not Membership.objects.filter(user=supervolunteer).exists()
    supervolunteer.refresh_from_db()
    assert not supervolunteer.is_staff


def test_someone_who_organizes_elsewhere_keeps_back_office_access(
    owner: User, supervolunteer: User, organization: Organization, other_organization: Organization
) -> None:
    MembershipFactory(user=supervolunteer, organization=other_organization, role=Role.ADMIN)
    membership_remove(membership=membership_of(supervolunteer, organization), acting_user=owner)
    assert list(Membership.objects.filter(user=supervolunteer).values_list("organization", flat=True)) == [
        other_organization.pk
    ]
    supervolunteer.refresh_from_db()
    assert supervolunteer.is_staff


def test_the_last_owner_cannot_be_removed(owner: User, admin_user: User, organization: Organization) -> None:
    with pytest.raises(ApplicationError) as raised:
        membership_remove(membership=membership_of(owner, organization), acting_user=admin_user)
    assert (raised.value.message, raised.value.code) == (OWNER_NEEDED, "last_owner")
    assert membership_of(owner, organization).role == Role.OWNER
    owner.refresh_from_db()
    assert owner.is_staff


def test_an_owner_is_removed_while_another_owner_remains(owner: User, organization: Organization) -> None:
    second = UserFactory()
    MembershipFactory(user=second, organization=organization, role=Role.OWNER)
    membership_remove(membership=membership_of(owner, organization), acting_user=second)
    assert list(Membership.objects.filter(organization=organization, role=Role.OWNER)) == [
        membership_of(second, organization)
    ]


def test_removal_goes_by_the_saved_role_not_an_edited_instance(owner: User, organization: Organization) -> None:
    membership = membership_of(owner, organization)
    membership.role = Role.TEXTER  # as an inline row edited and ticked for deletion carries it
    with pytest.raises(ApplicationError):
        membership_remove(membership=membership, acting_user=owner)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_of_one_organization_may_leave_another(
    owner: User, organization: Organization, other_organization: Organization, outsider: User
) -> None:
    MembershipFactory(user=owner, organization=other_organization, role=Role.OWNER)
    # The outsider still owns the other organization, so the owner may leave it.
    membership_remove(membership=membership_of(owner, other_organization), acting_user=outsider)
    assert list(Membership.objects.filter(user=owner).values_list("organization", flat=True)) == [organization.pk]


# --- membership_set and the last-owner check ----------------------------------------------------


def test_the_last_owner_cannot_be_demoted(owner: User, organization: Organization) -> None:
    with pytest.raises(ApplicationError, match="at least one owner"):
        membership_set(organization=organization, user=owner, role=Role.ADMIN)
    assert membership_of(owner, organization).role == Role.OWNER


def test_an_owner_is_demoted_once_another_is_promoted(owner: User, texter: User, organization: Organization) -> None:
    membership_set(organization=organization, user=texter, role=Role.OWNER)
    membership_set(organization=organization, user=owner, role=Role.TEXTER)
    assert membership_of(texter, organization).role == Role.OWNER
    assert membership_of(owner, organization).role == Role.TEXTER
    owner.refresh_from_db()
    texter.refresh_from_db()
    assert texter.is_staff and not owner.is_staff


def test_membership_set_adds_a_new_member(owner: User, organization: Organization) -> None:
    person = UserFactory()
    membership = membership_set(organization=organization, user=person, role=Role.SUPERVOLUNTEER)
    assert membership_of(person, organization) == membership and membership.role == Role.SUPERVOLUNTEER
    person.refresh_from_db()
    assert person.is_staff


def test_owner_check_refuses_only_what_would_leave_no_owner(
    owner: User, texter: User, organization: Organization
) -> None:
    last_owner = membership_of(owner, organization)
    for role in (None, Role.ADMIN, Role.TEXTER):
        with pytest.raises(ApplicationError):
            membership_check_owner_remains(membership=last_owner, role=role)
    membership_check_owner_remains(membership=last_owner, role=Role.OWNER)
    membership_check_owner_remains(membership=membership_of(texter, organization), role=None)
    membership_check_owner_remains(membership=Membership(organization=organization, role=Role.OWNER), role=None)


# --- organization_settings_save -------------------------------------------------------------------


def test_settings_save_writes_only_the_given_settings(owner: User, organization: Organization) -> None:
    stale = Organization.objects.get(pk=organization.pk)
    # Saved by someone else after `stale` was read: a save of other settings must not undo it.
    Organization.objects.filter(pk=organization.pk).update(twilio_auth_token="token-saved-meanwhile")
    organization_settings_save(
        organization=stale, values={"name": "Vote Forward PAC", "texting_hours_end": 20}, acting_user=owner
    )
    organization.refresh_from_db()
    assert (organization.name, organization.texting_hours_end) == ("Vote Forward PAC", 20)
    assert organization.twilio_auth_token == "token-saved-meanwhile"


def test_settings_save_refuses_what_is_not_a_setting(owner: User, organization: Organization) -> None:
    with pytest.raises(ValueError, match="created_at"):
        organization_settings_save(organization=organization, values={"created_at": None}, acting_user=owner)


def test_settings_save_creates_a_new_organization(db: None) -> None:
    superuser = User.objects.create_superuser(email="root@example.com", password="x")
    organization = organization_settings_save(
        organization=OrganizationFactory.build(),
        values={"name": "New Org", "opt_out_message": "Bye"},
        acting_user=superuser,
    )
    saved = Organization.objects.get(pk=organization.pk)
    assert (saved.name, saved.opt_out_message) == ("New Org", "Bye")
