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
    settings.TWILIO_ACCOUNT_SID = "ACtest00000000000000000000000000"  # the recorded payloads' account
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


# --- Budgets, accounts, odd content, multi-part and media ------------------------------------------


def test_a_delivery_report_through_the_webhook_costs_one_statement(
    client: Client, texted: Contact, assert_statements
) -> None:
    data = _payload("twilio_status_delivered.json")
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/webhooks/twilio/status", data)
    with assert_statements(1):
        response = client.post("/webhooks/twilio/status", data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 204


def test_an_inbound_reply_through_the_webhook_costs_three_statements(
    client: Client, texted: Contact, assert_statements, django_capture_on_commit_callbacks
) -> None:
    data = _payload("twilio_inbound.json")
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/webhooks/twilio/inbound", data)
    with django_capture_on_commit_callbacks(execute=False), assert_statements(3):
        response = client.post("/webhooks/twilio/inbound", data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200


def test_the_status_callback_url_carries_our_message_id(client: Client, contact: Contact) -> None:
    message = MessageFactory(contact=contact, status=MessageStatus.SENDING, provider_sid=None)
    data = {**_payload("twilio_status_delivered.json"), "MessageSid": "SMbeatstheworker"}
    response = _signed_post(client, f"/webhooks/twilio/status?m={message.pk}", data)
    assert response.status_code == 204
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == (MessageStatus.DELIVERED, "SMbeatstheworker")


def test_the_message_id_in_the_url_is_covered_by_the_signature(client: Client, contact: Contact) -> None:
    message = MessageFactory(contact=contact, status=MessageStatus.SENDING, provider_sid=None)
    data = _payload("twilio_status_delivered.json")
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/webhooks/twilio/status?m={message.pk + 1}", data)
    response = client.post(f"/webhooks/twilio/status?m={message.pk}", data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403


def test_signed_with_an_organizations_own_account_is_accepted_in_two_statements(
    client: Client, texted: Contact, assert_statements
) -> None:
    organization = texted.campaign.organization
    organization.twilio_account_sid, organization.twilio_auth_token = "ACorgown", "org-own-token"
    organization.save()
    data = {**_payload("twilio_status_delivered.json"), "AccountSid": "ACorgown"}
    assert _signed_post(client, "/webhooks/twilio/status", data, token=TOKEN).status_code == 403
    with assert_statements(2):  # the organization's token, the update
        assert _signed_post(client, "/webhooks/twilio/status", data, token="org-own-token").status_code == 204
    assert Message.objects.get(provider_sid=data["MessageSid"]).status == MessageStatus.DELIVERED


def test_the_public_url_is_what_is_signed_behind_a_proxy(client: Client, texted: Contact) -> None:
    data = _payload("twilio_status_delivered.json")
    # The proxy forwards to http://testserver; Twilio signed https://spoke.example.org.
    internal = RequestValidator(TOKEN).compute_signature("http://testserver/webhooks/twilio/status", data)
    assert client.post("/webhooks/twilio/status", data, HTTP_X_TWILIO_SIGNATURE=internal).status_code == 403
    assert _signed_post(client, "/webhooks/twilio/status", data).status_code == 204


@pytest.mark.parametrize(
    "changes",
    [{"NumMedia": "lots"}, {"NumSegments": ""}, {"MessageSid": ""}, {"From": ""}],
)
def test_authenticated_odd_content_is_acknowledged(client: Client, texted: Contact, changes: dict[str, str]) -> None:
    data = {**_payload("twilio_inbound.json"), **changes}
    response = _signed_post(client, "/webhooks/twilio/inbound", data)
    assert response.status_code == 200


@pytest.mark.parametrize("changes", [{"ErrorCode": "abc"}, {"MessageStatus": "read"}, {"MessageSid": ""}])
def test_authenticated_odd_status_reports_are_acknowledged(
    client: Client, texted: Contact, changes: dict[str, str]
) -> None:
    data = {**_payload("twilio_status_delivered.json"), **changes}
    assert _signed_post(client, "/webhooks/twilio/status", data).status_code == 204


def test_a_multi_part_reply_with_several_pictures_keeps_them_all(client: Client, texted: Contact) -> None:
    data = {
        **_payload("twilio_inbound.json"),
        "MessageSid": "MMmulti",
        "Body": "A long reply " * 20,
        "NumSegments": "3",
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/media/1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/media/2",
        "MediaContentType1": "image/png",
    }
    assert _signed_post(client, "/webhooks/twilio/inbound", data).status_code == 200
    reply = Message.objects.get(provider_sid="MMmulti")
    assert reply.body == "A long reply " * 20 and reply.segments == 3
    assert reply.media_urls == ["https://api.twilio.com/media/1", "https://api.twilio.com/media/2"]


def test_out_of_order_status_reports_never_move_a_message_back(client: Client, texted: Contact) -> None:
    delivered = _payload("twilio_status_delivered.json")
    for status in ("delivered", "sent", "queued"):
        assert (
            _signed_post(client, "/webhooks/twilio/status", {**delivered, "MessageStatus": status}).status_code == 204
        )
    assert Message.objects.get(provider_sid=delivered["MessageSid"]).status == MessageStatus.DELIVERED
