from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import User
from campaigns.models import Campaign, Contact
from spoke.testing import MessageFactory

pytestmark = pytest.mark.django_db


def test_api_requires_authentication(client: Client, campaign: Campaign) -> None:
    assert client.get("/api/v1/campaigns/").status_code in (401, 403)


def test_organizer_lists_their_campaigns_with_a_token(client: Client, owner: User, campaign: Campaign) -> None:
    token = Token.objects.create(user=owner)
    response = client.get("/api/v1/campaigns/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == ["Get out the vote"]


def test_outsider_sees_no_campaign_and_gets_404_for_a_foreign_id(outsider_client: Client, campaign: Campaign) -> None:
    assert outsider_client.get("/api/v1/campaigns/").json()["results"] == []
    assert outsider_client.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404


def test_texter_sees_no_organizer_data(texter_client: Client, contact: Contact) -> None:
    MessageFactory(contact=contact)
    assert texter_client.get("/api/v1/campaigns/").json()["results"] == []
    assert texter_client.get("/api/v1/messages/").json()["results"] == []


def test_messages_filter_by_campaign(owner_client: Client, contact: Contact) -> None:
    MessageFactory(contact=contact, body="hello there")
    rows = owner_client.get(f"/api/v1/messages/?campaign={contact.campaign_id}").json()["results"]
    assert [row["body"] for row in rows] == ["hello there"]
    assert owner_client.get("/api/v1/messages/?campaign=999999").json()["results"] == []
