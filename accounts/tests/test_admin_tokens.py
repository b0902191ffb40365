"""API tokens in the back office: organizers create and revoke their own, and see no one else's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from conftest import login

pytestmark = pytest.mark.django_db


def test_organizer_creates_a_token_for_themselves_and_uses_it(client: Client, owner: User) -> None:
    login(client, owner)
    response = client.post(reverse("admin:authtoken_tokenproxy_add"), {})
    assert response.status_code == 302
    token = Token.objects.get(user=owner)
    client.logout()
    assert client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_creating_again_replaces_the_token(client: Client, owner: User) -> None:
    old = Token.objects.create(user=owner)
    login(client, owner)
    client.post(reverse("admin:authtoken_tokenproxy_add"), {})
    assert Token.objects.get(user=owner).key != old.key


def test_others_tokens_are_invisible_and_revoking_works(client: Client, owner: User, outsider: User) -> None:
    theirs = Token.objects.create(user=outsider)
    mine = Token.objects.create(user=owner)
    login(client, owner)
    listing = client.get(reverse("admin:authtoken_tokenproxy_changelist"))
    assert str(owner).encode() in listing.content and str(outsider).encode() not in listing.content
    assert client.get(reverse("admin:authtoken_tokenproxy_delete", args=[theirs.key])).status_code in (302, 404)
    response = client.post(reverse("admin:authtoken_tokenproxy_delete", args=[mine.key]), {"post": "yes"})
    assert response.status_code == 302
    assert list(Token.objects.values_list("user_id", flat=True)) == [outsider.pk]


def test_texters_have_no_token_page(texter_client: Client) -> None:
    assert texter_client.get(reverse("admin:authtoken_tokenproxy_changelist")).status_code == 302  # to the login


def test_back_office_calls_them_api_tokens(client: Client, owner: User) -> None:
    login(client, owner)
    page = client.get(reverse("admin:index")).content.decode()
    assert "API tokens" in page and "Auth Token" not in page
