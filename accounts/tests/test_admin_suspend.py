"""Suspending people from the back office: admins suspend texters, only owners touch owners."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, Role, User
from spoke.testing import MembershipFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_membership_changelist"


def _act(client: Client, action: str, *memberships: Membership) -> None:
    client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [m.pk for m in memberships]})


def test_admin_suspends_and_restores_a_texter(
    client: Client, admin_user: User, texter: User, organization: Organization
) -> None:
    client.force_login(admin_user)
    membership = Membership.objects.get(user=texter, organization=organization)
    _act(client, "suspend_selected", membership)
    membership.refresh_from_db()
    assert membership.role == Role.SUSPENDED
    _act(client, "restore_selected", membership)
    membership.refresh_from_db()
    assert membership.role == Role.TEXTER


def test_admin_cannot_suspend_an_owner_or_another_organizations_member(
    client: Client, admin_user: User, owner: User, organization: Organization, other_organization: Organization
) -> None:
    client.force_login(admin_user)
    owners = Membership.objects.get(user=owner, organization=organization)
    foreign = MembershipFactory.create(organization=other_organization, role=Role.TEXTER)
    _act(client, "suspend_selected", owners, foreign)
    owners.refresh_from_db()
    foreign.refresh_from_db()
    assert (owners.role, foreign.role) == (Role.OWNER, Role.TEXTER)


def test_suspended_organizer_loses_the_back_office(
    client: Client, owner: User, supervolunteer: User, organization: Organization
) -> None:
    client.force_login(owner)
    _act(client, "suspend_selected", Membership.objects.get(user=supervolunteer, organization=organization))
    supervolunteer.refresh_from_db()
    assert not supervolunteer.is_staff
