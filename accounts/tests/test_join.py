"""The join page behind an invite link: new people sign up, members join, used links stop working."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Invite, Membership, Organization, Role, User
from accounts.services import invite_create
from conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(organization: Organization, owner: User) -> Invite:
    return invite_create(organization=organization, role=Role.TEXTER, acting_user=owner)


def url(invite: Invite) -> str:
    return f"/accounts/join/{invite.token}/"


def test_new_person_signs_up_and_joins_as_texter(client: Client, invite: Invite, organization: Organization) -> None:
    page = client.get(url(invite))
    assert page.status_code == 200 and b"Join Vote Forward" in page.content
    response = client.post(
        url(invite),
        {"email": "new@example.org", "first_name": "Nia", "password": "a-long-enough-passphrase"},
    )
    assert response.status_code == 302 and response["Location"] == "/texter/"
    user = User.objects.get(email="new@example.org")
    assert Membership.objects.get(user=user, organization=organization).role == Role.TEXTER
    assert client.get("/texter/").status_code == 200  # logged in


def test_signup_with_a_taken_email_or_weak_password_says_what_to_do(
    client: Client, invite: Invite, texter: User
) -> None:
    response = client.post(
        url(invite), {"email": texter.email, "first_name": "X", "password": "a-long-enough-passphrase"}
    )
    assert response.status_code == 400 and b"log in first" in response.content
    response = client.post(url(invite), {"email": "n@example.org", "first_name": "X", "password": "123"})
    assert response.status_code == 400 and b"too short" in response.content
    invite.refresh_from_db()
    assert invite.accepted_at is None


def test_logged_in_outsider_joins_with_the_invited_role(
    outsider_client: Client, outsider: User, organization: Organization
) -> None:
    admin_invite = invite_create(organization=organization, role=Role.ADMIN)
    response = outsider_client.post(url(admin_invite))
    assert response["Location"] == "/admin/"
    assert Membership.objects.get(user=outsider, organization=organization).role == Role.ADMIN


def test_an_invite_never_demotes_an_owner(
    owner_client: Client, owner: User, invite: Invite, organization: Organization
) -> None:
    owner_client.post(url(invite))
    assert Membership.objects.get(user=owner, organization=organization).role == Role.OWNER


def test_a_used_or_expired_link_stops_working(
    client: Client, texter: User, invite: Invite, organization: Organization
) -> None:
    login(client, texter)
    client.post(url(invite))
    second = client.get(url(invite))
    assert second.status_code == 410 and b"already used" in second.content
    expired = invite_create(organization=organization, role=Role.TEXTER)
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.post(url(expired)).status_code == 410
    assert client.get("/accounts/join/not-a-token/").status_code == 404


def test_a_suspended_member_is_not_let_back_in(
    client: Client, texter: User, invite: Invite, organization: Organization
) -> None:
    Membership.objects.filter(user=texter).update(role=Role.SUSPENDED)
    login(client, texter)
    response = client.post(url(invite))
    assert response.status_code == 403 and b"suspended" in response.content
    assert Membership.objects.get(user=texter).role == Role.SUSPENDED


def test_a_form_with_mistakes_still_links_to_log_in_and_ties_each_error_to_its_field(
    client: Client, invite: Invite
) -> None:
    response = client.post(url(invite), {"email": "n@example.org", "first_name": "X", "password": "123"})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'href="/accounts/login/?next={url(invite)}"' in html  # was an empty href on this path
    assert 'autocomplete="new-password"' in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="id_password_helptext id_password_error"' in html
    assert 'id="id_password_error"' in html and 'id="id_password_helptext"' in html


def test_a_logged_in_person_can_switch_accounts_from_the_join_page(texter_client: Client, invite: Invite) -> None:
    html = texter_client.get(url(invite)).content.decode()
    assert 'action="/accounts/logout/"' in html and f'name="next" value="{url(invite)}"' in html
    response = texter_client.post("/accounts/logout/", {"next": url(invite)})
    assert response.status_code == 302 and response["Location"] == url(invite)
