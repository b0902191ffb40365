"""The organization's send rate: a setting organizers edit in the back office, used by the drain."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.services import ORGANIZATION_SETTINGS
from accounts.tests.test_admin import organization_form

pytestmark = pytest.mark.django_db


def test_the_send_rate_is_an_organization_setting() -> None:
    assert "send_rate_per_second" in ORGANIZATION_SETTINGS


def test_an_owner_sets_and_clears_the_send_rate(client: Client, owner: User, organization: Organization) -> None:
    client.force_login(owner)
    change = reverse("admin:accounts_organization_change", args=[organization.pk])
    assert b'name="send_rate_per_second"' in client.get(change).content
    response = client.post(change, organization_form(organization, send_rate_per_second="25"))
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.send_rate_per_second == 25
    client.post(change, organization_form(organization, send_rate_per_second=""))
    organization.refresh_from_db()
    assert organization.send_rate_per_second is None


def test_a_negative_send_rate_is_refused(client: Client, owner: User, organization: Organization) -> None:
    client.force_login(owner)
    change = reverse("admin:accounts_organization_change", args=[organization.pk])
    response = client.post(change, organization_form(organization, send_rate_per_second="-5"))
    assert response.status_code == 200
    organization.refresh_from_db()
    assert organization.send_rate_per_second is None
