"""The authentication backend (accounts/backends.py): the session's user loaded by one prebuilt
statement, the same `User` the ORM would give, and ModelBackend's rules for who may log in."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from accounts.backends import Backend, user_by_id
from accounts.models import User
from accounts.services import user_sessions_end
from spoke.testing import UserFactory

pytestmark = pytest.mark.django_db


def _fields(user: User) -> dict[str, Any]:
    return {field.attname: getattr(user, field.attname) for field in User._meta.concrete_fields}


def test_the_user_is_the_one_the_orm_would_load(django_assert_num_queries: Any) -> None:
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", cell="+15555550123", is_staff=True)
    user_sessions_end(user=user)  # a non-zero session epoch
    with django_assert_num_queries(1):
        loaded = user_by_id(user.pk)
    assert isinstance(loaded, User)
    assert _fields(loaded) == _fields(User.objects.get(pk=user.pk))
    assert loaded._state.adding is False and loaded._state.db == "default"
    loaded.first_name = "Augusta"
    loaded.save(update_fields=["first_name"])  # a normal model instance: it saves
    assert User.objects.get(pk=user.pk).first_name == "Augusta"


def test_no_user_for_an_unknown_id_or_an_inactive_account() -> None:
    inactive = UserFactory.create(is_active=False)
    assert Backend().get_user(inactive.pk + 1000) is None
    assert Backend().get_user(inactive.pk) is None
    assert user_by_id(inactive.pk) is not None  # it exists; the backend refuses it


def test_logging_in_and_staying_logged_in_go_through_it(client: Client) -> None:
    user = UserFactory.create(email="ada@example.com")
    user.set_password("a long enough password 1")
    user.save()
    assert authenticate(username="ada@example.com", password="a long enough password 1") == user
    client.force_login(user)
    assert client.session["_auth_user_backend"] == "accounts.backends.Backend"
    assert client.get("/texter/").wsgi_request.user == user
    # Sessions from before the log-out-everywhere stop working through this backend too.
    user_sessions_end(user=user)
    assert client.get("/texter/").wsgi_request.user.is_anonymous
