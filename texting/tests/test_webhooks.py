from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from twilio.request_validator import RequestValidator

from campaigns.models import Contact, ContactStatus
from spoke.testing import MessageFactory
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://spoke.example.org"


@pytest.fixture(autouse=True)
def twilio_settings(settings: SettingsWrapper) -> None:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE


def _payload(name: str) -> dict[str, str]:
    return json.loads((FIXTURES / name).read_text())


def _signed_post(client: Client, path: str, data: dict[str, str], token: str = TOKEN):  # type: ignore[no-untyped-def]
    # Signed by the twilio SDK's own validator over the public URL Twilio called.
    signature = RequestValidator(token).compute_signature(f"{BASE}{path}", data)
    return client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def texted(contact: Contact) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(cell="+12025550100", status=ContactStatus.MESSAGED)
    contact.refresh_from_db()
    MessageFactory(
        contact=contact, to_number=contact.cell, provider_sid="SMout0000000000000000000000000001", status="sent"
    )
    return contact


def test_signed_inbound_reply_is_stored_with_its_media(client: Client, texted: Contact) -> None:
    response = _signed_post(client, "/webhooks/twilio/inbound", _payload("twilio_inbound.json"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    reply = Message.objects.get(direction=Direction.INBOUND)
    assert reply.body == "Yes, count me in!" and reply.contact_id == texted.pk
    assert reply.media_urls == ["https://api.twilio.com/2010-04-01/Accounts/ACtest/Messages/MM1/Media/ME1"]
    texted.refresh_from_db()
    assert texted.status == ContactStatus.NEEDS_RESPONSE


def test_repeated_inbound_webhook_stores_one_message(client: Client, texted: Contact) -> None:
    for _ in range(3):
        assert _signed_post(client, "/webhooks/twilio/inbound", _payload("twilio_inbound.json")).status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


@pytest.mark.parametrize("path", ["/webhooks/twilio/inbound", "/webhooks/twilio/status"])
def test_missing_or_forged_signature_is_refused(client: Client, texted: Contact, path: str) -> None:
    data = _payload("twilio_inbound.json")
    assert client.post(path, data).status_code == 403
    forged = RequestValidator("not-our-token").compute_signature(f"{BASE}{path}", data)
    assert client.post(path, data, HTTP_X_TWILIO_SIGNATURE=forged).status_code == 403
    tampered = RequestValidator(TOKEN).compute_signature(f"{BASE}{path}", data)
    assert client.post(path, {**data, "Body": "changed"}, HTTP_X_TWILIO_SIGNATURE=tampered).status_code == 403
    assert not Message.objects.filter(direction=Direction.INBOUND).exists()


def test_webhooks_refuse_when_no_auth_token_is_configured(
    client: Client, texted: Contact, settings: SettingsWrapper
) -> None:
    data = _payload("twilio_inbound.json")
    signature = RequestValidator("").compute_signature(f"{BASE}/webhooks/twilio/inbound", data)
    settings.TWILIO_AUTH_TOKEN = ""
    assert client.post("/webhooks/twilio/inbound", data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403


@pytest.mark.parametrize("path", ["/webhooks/twilio/inbound", "/webhooks/twilio/status"])
def test_webhooks_answer_405_to_get(client: Client, path: str) -> None:
    assert client.get(path).status_code == 405


def test_signed_status_callback_marks_delivered(client: Client, texted: Contact) -> None:
    response = _signed_post(client, "/webhooks/twilio/status", _payload("twilio_status_delivered.json"))
    assert response.status_code == 204
    assert Message.objects.get(provider_sid="SMout0000000000000000000000000001").status == MessageStatus.DELIVERED


def test_status_callback_for_an_unknown_message_is_still_acknowledged(client: Client, db: None) -> None:
    # Twilio retries anything but 2xx: an unknown SID is accepted and changes nothing.
    response = _signed_post(client, "/webhooks/twilio/status", _payload("twilio_status_delivered.json"))
    assert response.status_code == 204
    assert not Message.objects.exists()
