"""API authentication, throttling and the organizations resource."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle

from accounts.models import Membership, Organization, Role, User

pytestmark = pytest.mark.django_db


def test_without_credentials_the_api_answers_401(client: Client) -> None:
    response = client.get("/api/v1/organizations/")
    assert response.status_code == 401


def test_a_revoked_token_or_an_inactive_user_is_refused(client: Client, owner: User) -> None:
    token = Token.objects.create(user=owner)
    header = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get("/api/v1/organizations/", **header).status_code == 200
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert client.get("/api/v1/organizations/", **header).status_code == 401
    token.delete()
    assert client.get("/api/v1/organizations/", **header).status_code == 401


def test_a_suspended_member_loses_api_access(client: Client, owner: User, organization: Organization) -> None:
    token = Token.objects.create(user=owner)
    Membership.objects.filter(user=owner).update(role=Role.SUSPENDED)
    response = client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 403


def test_requests_are_throttled_per_user(owner_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "60/minute"})
    assert owner_client.get("/api/v1/organizations/").status_code == 200
    assert owner_client.get("/api/v1/organizations/").status_code == 200
    response = owner_client.get("/api/v1/organizations/")
    assert response.status_code == 429 and "Retry-After" in response


def test_organization_detail_is_scoped(
    client: Client, owner: User, organization: Organization, other_organization: Organization
) -> None:
    client.force_login(owner)
    assert client.get(f"/api/v1/organizations/{organization.pk}/").json()["role"] == "owner"
    assert client.get(f"/api/v1/organizations/{other_organization.pk}/").status_code == 404
