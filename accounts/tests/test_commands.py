"""create_organization, invite and api_token: happy path and bad input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from accounts.models import Invite, Membership, Organization, Role, User

pytestmark = pytest.mark.django_db

OUR_COMMANDS = [
    "create_organization",
    "invite",
    "api_token",
    "import_contacts",
    "assign_texters",
    "start_campaign",
    "archive_campaign",
    "optouts",
    "send_test_message",
    "retry_webhooks",
]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", OUR_COMMANDS)
def test_every_command_explains_itself_with_an_example(name: str) -> None:
    command = load_command_class(get_commands()[name], name)
    text = command.create_parser("manage.py", name).format_help()
    assert "Example" in text and len(command.help) > 80


def test_bad_input_exits_non_zero_with_the_reason() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "start_campaign", "not-a-number"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "CAMPAIGN is a campaign's id" in result.stderr


def test_create_organization_for_an_existing_user(texter: User) -> None:
    out, _ = run("create_organization", "Vote Now", "--owner", "TEXTER@example.com")
    organization = Organization.objects.get(name="Vote Now")
    assert Membership.objects.get(organization=organization).role == Role.OWNER
    assert f"Created organization {organization.pk}" in out
    texter.refresh_from_db()
    assert texter.is_staff


def test_create_organization_creates_the_owner_on_request(db: None) -> None:
    out, _ = run("create_organization", "Vote Now", "--owner", "new@example.org", "--create-owner")
    user = User.objects.get(email="new@example.org")
    assert not user.has_usable_password()
    assert "changepassword new@example.org" in out


def test_create_organization_refuses_an_unknown_owner_and_a_weak_password(db: None) -> None:
    with pytest.raises(CommandError, match="add --create-owner"):
        run("create_organization", "Vote Now", "--owner", "nobody@example.org")
    with pytest.raises(CommandError, match="too short"):
        run("create_organization", "Vote Now", "--owner", "x@example.org", "--create-owner", "--password", "abc")
    assert not Organization.objects.exists()


def test_invite_prints_a_join_link(organization: Organization) -> None:
    out, err = run("invite", "vote forward", "--role", "admin", "--email", "Ana@Example.org")
    invite = Invite.objects.get()
    assert out.strip() == f"http://127.0.0.1:8000/accounts/join/{invite.token}/"
    assert (invite.role, invite.email) == (Role.ADMIN, "ana@example.org")
    assert "as admin" in err


def test_invite_refuses_a_bad_role_or_organization(organization: Organization) -> None:
    with pytest.raises(CommandError, match="Unknown role 'boss'"):
        run("invite", str(organization.pk), "--role", "boss")
    with pytest.raises(CommandError, match=r"No organization 'Nope'.*Vote Forward"):
        run("invite", "Nope")


def test_api_token_creates_replaces_and_revokes(owner: User) -> None:
    first, _ = run("api_token", owner.email)
    second, err = run("api_token", owner.email)
    assert first.strip() != second.strip()
    assert Token.objects.get(user=owner).key == second.strip()
    assert "previous token no longer works" in err
    out, _ = run("api_token", owner.email, "--revoke")
    assert out.strip() == "Token revoked."
    assert not Token.objects.exists()


def test_api_token_refuses_an_unknown_user(db: None) -> None:
    with pytest.raises(CommandError, match="No user with the email"):
        run("api_token", "ghost@example.org")
