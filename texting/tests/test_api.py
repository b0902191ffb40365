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


def test_texter_is_refused_organizer_data(texter_client: Client, contact: Contact) -> None:
    MessageFactory(contact=contact)
    response = texter_client.get("/api/v1/messages/")
    assert response.status_code == 403
    assert "for organizers" in response.json()["detail"]
    assert texter_client.get("/api/v1/campaigns/").status_code == 403


def test_messages_filter_by_campaign(owner_client: Client, contact: Contact) -> None:
    MessageFactory(contact=contact, body="hello there")
    rows = owner_client.get(f"/api/v1/messages/?campaign={contact.campaign_id}").json()["results"]
    assert [row["body"] for row in rows] == ["hello there"]
    assert owner_client.get("/api/v1/messages/?campaign=999999").json()["results"] == []


def test_messages_filter_by_direction_and_status_and_reject_bad_values(owner_client: Client, contact: Contact) -> None:
    MessageFactory(contact=contact, body="out", status="delivered")
    MessageFactory(contact=contact, body="in", direction="in", status="received")
    rows = owner_client.get("/api/v1/messages/?direction=in").json()["results"]
    assert [row["body"] for row in rows] == ["in"]
    rows = owner_client.get("/api/v1/messages/?status=delivered").json()["results"]
    assert [row["body"] for row in rows] == ["out"]
    assert owner_client.get("/api/v1/messages/?status=nope").status_code == 400
    assert owner_client.get("/api/v1/messages/?campaign=abc").status_code == 400
    assert owner_client.get("/api/v1/messages/?since=yesterday").status_code == 400


def test_campaign_stats_count_contacts_messages_and_answers(owner_client: Client, contact: Contact) -> None:
    MessageFactory(contact=contact, status="delivered")
    MessageFactory(contact=contact, direction="in", status="received")
    stats = owner_client.get(f"/api/v1/campaigns/{contact.campaign_id}/stats/").json()
    assert stats["contacts"]["total"] == 1
    assert stats["messages_sent_by_status"]["delivered"] == 1
    assert stats["messages_received"] == 1
    assert stats["survey"][0]["question"] == "Can we count on your vote?"


def test_campaign_stats_of_a_foreign_campaign_is_404(outsider_client: Client, campaign: Campaign) -> None:
    assert outsider_client.get(f"/api/v1/campaigns/{campaign.pk}/stats/").status_code == 404
