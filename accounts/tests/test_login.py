from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from spoke.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_by_email_in_any_capitals_leads_to_the_texter_app(client: Client, texter: User) -> None:
    response = client.post("/accounts/login/", {"username": "Texter@Example.COM", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/texter/"


def test_wrong_password_is_refused_with_a_message(client: Client, texter: User) -> None:
    response = client.post("/accounts/login/", {"username": "texter@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client: Client, texter: User) -> None:
    client.force_login(texter)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/texter/").status_code == 302
