"""Logins: throttled per account and per address, validated passwords, sessions that expire, and
"log out everywhere" (any session engine, open websockets included)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Role, User
from accounts.services import invite_create, user_sessions_end
from spoke.testing import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _login(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def test_an_account_is_locked_after_five_failures_even_with_the_right_password(client: Client, texter: User) -> None:
    for _ in range(5):
        response = _login(client, texter.email, "wrong-password")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = _login(client, texter.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked by someone else's guesses.
    other = UserFactory.create(email="other@example.com")
    MembershipFactory.create(user=other, role=Role.TEXTER)
    assert _login(client, other.email, PASSWORD).status_code == 302


def test_the_lock_counts_the_email_in_any_capitals(client: Client, texter: User) -> None:
    for _ in range(5):
        _login(client, texter.email.upper(), "wrong-password")
    assert _login(client, texter.email, PASSWORD).status_code == 429


def test_the_lock_lifts_after_the_lockout(client: Client, texter: User, settings: SettingsWrapper) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        for _ in range(5):
            _login(client, texter.email, "wrong-password")
        assert _login(client, texter.email, PASSWORD).status_code == 429
        traveller.shift(dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1))
        assert _login(client, texter.email, PASSWORD).status_code == 302


def test_a_good_login_clears_the_accounts_count(client: Client, texter: User) -> None:
    for _ in range(4):
        _login(client, texter.email, "wrong-password")
    assert _login(client, texter.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, texter.email, "wrong-password")
    assert _login(client, texter.email, PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_locked(client: Client, texter: User, settings: SettingsWrapper) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 6
    for i in range(6):
        _login(client, f"guess{i}@example.com", "wrong-password", REMOTE_ADDR="203.0.113.9")
    assert _login(client, texter.email, PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert _login(client, texter.email, PASSWORD, REMOTE_ADDR="203.0.113.10").status_code == 302


def test_behind_a_proxy_the_forwarded_client_address_is_counted(
    client: Client, texter: User, settings: SettingsWrapper
) -> None:
    settings.NUM_PROXIES = 1
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for i in range(3):
        _login(client, f"guess{i}@example.com", "x", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    locked = _login(client, texter.email, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert locked.status_code == 429
    # The proxy's own address is not what is locked: another client behind it still logs in.
    fine = _login(client, texter.email, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert fine.status_code == 302


def test_the_back_office_login_is_throttled_too(client: Client, owner: User) -> None:
    for _ in range(5):
        client.post("/admin/login/", {"username": owner.email, "password": "wrong-password"})
    response = client.post("/admin/login/", {"username": owner.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "olive@example.com"])
def test_weak_passwords_are_refused_at_sign_up(client: Client, owner: User, password: str) -> None:
    invite = invite_create(organization=owner.memberships.get().organization, role=Role.TEXTER)
    data = {"email": "olive@example.com", "first_name": "Olive", "password": password}
    response = client.post(reverse("join", args=[invite.token]), data)
    assert response.status_code == 400
    assert not User.objects.filter(email="olive@example.com").exists()


def test_a_session_expires_after_session_cookie_age(client: Client, texter: User, settings: SettingsWrapper) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        client.force_login(texter)
        assert client.get("/texter/").status_code == 200
        traveller.shift(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60))
        response = client.get("/texter/")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    "engine", ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"]
)
def test_log_out_everywhere_ends_every_session_of_the_user_only(
    engine: str, settings: SettingsWrapper, texter: User, other_texter: User
) -> None:
    settings.SESSION_ENGINE = engine
    laptop, phone, colleague = Client(), Client(), Client()
    for client, user in [(laptop, texter), (phone, texter), (colleague, other_texter)]:
        client.force_login(user)
        assert client.get("/texter/").status_code == 200
    response = phone.post(reverse("logout_everywhere"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    for client in (laptop, phone):
        ended = client.get("/texter/")
        assert ended.status_code == 302 and ended["Location"].startswith(LOGIN)
    assert colleague.get("/texter/").status_code == 200
    # A fresh login works as before.
    fresh = Client()
    assert _login(fresh, texter.email, PASSWORD).status_code == 302
    assert fresh.get("/texter/").status_code == 200


def test_log_out_everywhere_is_a_post_for_a_logged_in_user(client: Client, texter: User) -> None:
    assert client.post(reverse("logout_everywhere")).status_code == 302  # to the login page
    client.force_login(texter)
    assert client.get(reverse("logout_everywhere")).status_code == 405


def test_sessions_made_before_log_out_everywhere_existed_stay_valid(texter: User) -> None:
    # Epoch 0 signs sessions exactly as Django does, so deploying this logs nobody out.
    from django.utils.crypto import salted_hmac

    djangos = salted_hmac(
        "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash", texter.password, algorithm="sha256"
    ).hexdigest()
    assert texter.session_epoch == 0
    assert texter.get_session_auth_hash() == djangos
    user_sessions_end(user=texter)
    assert texter.session_epoch == 1
    assert texter.get_session_auth_hash() != djangos


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_log_out_everywhere_closes_the_users_open_websockets() -> None:
    from asgiref.sync import sync_to_async
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Organization
    from core.consumers import SESSION_ENDED
    from spoke.asgi import application

    def make() -> tuple[User, str]:
        user = UserFactory.create(email="ws@example.com")
        MembershipFactory.create(user=user, organization=Organization.objects.create(name="O"), role=Role.TEXTER)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.Backend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return user, str(session.session_key)

    user, key = await sync_to_async(make)()
    communicator = WebsocketCommunicator(
        application,
        "/ws/texter/",
        headers=[(b"origin", b"http://testserver"), (b"cookie", f"sessionid={key}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(user_sessions_end)(user=user)
    while True:
        output = await communicator.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == SESSION_ENDED
    # And it cannot come back with the old session.
    again = WebsocketCommunicator(
        application,
        "/ws/texter/",
        headers=[(b"origin", b"http://testserver"), (b"cookie", f"sessionid={key}".encode())],
    )
    connected, _ = await again.connect()
    assert not connected
