"""Invite links in the back office: create one for a role, copy it, list open ones, revoke; per
role and organization."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize

from accounts.models import Invite, Organization, Role, User
from accounts.services import invite_accept, invite_create, invite_url
from conftest import login
from spoke.testing import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_invite_changelist")
ADD = reverse("admin:accounts_invite_add")


def change_url(invite: Invite) -> str:
    return reverse("admin:accounts_invite_change", args=[invite.pk])


def delete_url(invite: Invite) -> str:
    return reverse("admin:accounts_invite_delete", args=[invite.pk])


@pytest.fixture
def open_invite(organization: Organization, owner: User) -> Invite:
    return invite_create(organization=organization, role=Role.TEXTER, email="new@example.org", acting_user=owner)


def test_owner_creates_an_invite_and_sees_the_link_to_copy(
    client: Client, owner: User, organization: Organization
) -> None:
    login(client, owner)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, {"organization": organization.pk, "role": Role.OWNER, "email": " Co@Example.org "})
    invite = Invite.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(invite)
    assert (invite.role, invite.email, invite.created_by) == (Role.OWNER, "co@example.org", owner)
    assert invite.expires_at > timezone.now() + dt.timedelta(days=13)
    page = client.get(change_url(invite)).content.decode()
    assert "Invite link created" in page
    assert f'value="{invite_url(invite=invite)}"' in page and "spoke-copy-button" in page
    assert "backoffice/copy_link.js" in page


def test_admin_invites_texters_and_admins_but_not_owners(
    client: Client, admin_user: User, organization: Organization
) -> None:
    login(client, admin_user)
    response = client.post(ADD, {"organization": organization.pk, "role": Role.OWNER, "email": ""})
    assert response.status_code == 200
    assert "Only an owner can invite someone as owner." in response.content.decode()
    assert not Invite.objects.exists()
    for role in (Role.ADMIN, Role.TEXTER):
        assert client.post(ADD, {"organization": organization.pk, "role": role, "email": ""}).status_code == 302
    assert sorted(Invite.objects.values_list("role", flat=True)) == [Role.ADMIN, Role.TEXTER]


def test_suspended_is_not_a_role_to_invite_with(client: Client, owner: User, organization: Organization) -> None:
    login(client, owner)
    response = client.post(ADD, {"organization": organization.pk, "role": Role.SUSPENDED, "email": ""})
    assert response.status_code == 200 and not Invite.objects.exists()


def test_an_organization_not_yours_cannot_be_chosen(
    client: Client, admin_user: User, other_organization: Organization
) -> None:
    login(client, admin_user)
    response = client.post(ADD, {"organization": other_organization.pk, "role": Role.TEXTER, "email": ""})
    assert response.status_code == 200 and not Invite.objects.exists()


def test_list_shows_open_invites_with_expiry_by_default(
    client: Client, owner: User, organization: Organization, open_invite: Invite
) -> None:
    used = invite_create(organization=organization, role=Role.ADMIN, acting_user=owner)
    invite_accept(token=used.token, user=UserFactory.create(email="joined@example.org"))
    expired = invite_create(organization=organization, role=Role.SUPERVOLUNTEER, email="late@example.org")
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    login(client, owner)

    page = client.get(CHANGELIST).content.decode()
    assert "new@example.org" in page and "late@example.org" not in page and "joined@example.org" not in page
    assert localize(timezone.template_localtime(open_invite.expires_at)) in page  # its expiry
    assert f'value="{invite_url(invite=open_invite)}"' in page  # the link, to copy from the list
    assert "joined@example.org" in client.get(CHANGELIST + "?state=used").content.decode()
    assert "late@example.org" in client.get(CHANGELIST + "?state=expired").content.decode()
    everything = client.get(CHANGELIST + "?state=all").content.decode()
    assert all(email in everything for email in ("new@example.org", "late@example.org", "joined@example.org"))
    assert "no longer works" in client.get(change_url(expired)).content.decode()


def test_owner_revokes_an_invite_and_its_link_stops_working(client: Client, owner: User, open_invite: Invite) -> None:
    login(client, owner)
    response = client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [open_invite.pk]}, follow=True)
    assert "Revoked 1 invite." in response.content.decode()
    assert not Invite.objects.exists()
    client.logout()
    assert client.get(f"/accounts/join/{open_invite.token}/").status_code == 404


def test_revoking_from_the_invite_page(client: Client, admin_user: User, open_invite: Invite) -> None:
    login(client, admin_user)
    assert client.get(delete_url(open_invite)).status_code == 200
    assert client.post(delete_url(open_invite), {"post": "yes"}).status_code == 302
    assert not Invite.objects.exists()


def test_a_used_invite_stays_as_a_record(
    client: Client, owner: User, organization: Organization, open_invite: Invite
) -> None:
    invite_accept(token=open_invite.token, user=UserFactory.create())
    login(client, owner)
    assert client.post(delete_url(open_invite), {"post": "yes"}).status_code == 403
    response = client.post(
        CHANGELIST + "?state=all", {"action": "revoke_selected", "_selected_action": [open_invite.pk]}, follow=True
    )
    assert "1 used invite kept as a record." in response.content.decode()
    assert Invite.objects.filter(pk=open_invite.pk).exists()


def test_invites_are_not_edited(client: Client, owner: User, open_invite: Invite) -> None:
    login(client, owner)
    client.post(change_url(open_invite), {"organization": open_invite.organization_id, "role": Role.OWNER})
    open_invite.refresh_from_db()
    assert open_invite.role == Role.TEXTER


def test_supervolunteer_and_texter_cannot_reach_invites(
    client: Client, supervolunteer: User, texter: User, open_invite: Invite
) -> None:
    login(client, supervolunteer)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403
    # Their organization's invites are outside what they may see, like its people.
    assert client.get(change_url(open_invite)).status_code == 404
    assert client.post(delete_url(open_invite), {"post": "yes"}).status_code == 404
    assert "Invites" not in client.get(reverse("admin:index")).content.decode()
    login(client, texter)
    assert client.get(CHANGELIST).status_code == 302  # texters have no back office: to the login page
    assert Invite.objects.filter(pk=open_invite.pk).exists()


def test_another_organization_sees_none_and_gets_404(
    client: Client, outsider: User, open_invite: Invite, other_organization: Organization
) -> None:
    theirs = invite_create(organization=other_organization, role=Role.TEXTER, email="theirs@example.org")
    login(client, outsider)
    page = client.get(CHANGELIST).content.decode()
    assert "theirs@example.org" in page and "new@example.org" not in page
    assert client.get(change_url(open_invite)).status_code == 404
    assert client.get(delete_url(open_invite)).status_code == 404
    assert client.post(delete_url(open_invite), {"post": "yes"}).status_code == 404
    response = client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [open_invite.pk, theirs.pk]})
    assert response.status_code == 302
    assert list(Invite.objects.values_list("pk", flat=True)) == [open_invite.pk]


def test_changelist_statements_do_not_grow_with_rows(
    client: Client,
    owner: User,
    organization: Organization,
    assert_statements: Callable[[int], AbstractContextManager[Any]],
) -> None:
    login(client, owner)
    invite_create(organization=organization, role=Role.TEXTER, acting_user=owner)
    client.get(CHANGELIST)

    def statements() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as context:
            assert client.get(CHANGELIST + "?state=all").status_code == 200
        return len(context.captured_queries)

    few = statements()
    for _ in range(5):
        used = invite_create(organization=organization, role=Role.TEXTER, acting_user=owner)
        invite_accept(token=used.token, user=UserFactory.create())
    assert statements() == few
