"""Webhooks under abuse and storms: oversized or tampered requests are refused; replays, repeats
and reorderings of authentic requests leave one message with the right final status; an opt-out
that arrives while messages to that cell wait in the outbox stops every one of them."""

from __future__ import annotations

import random

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from twilio.request_validator import RequestValidator

from campaigns.models import Campaign, Contact, ContactStatus, OptOut, OptOutEvent
from spoke.testing import CampaignFactory, ContactFactory, MessageFactory
from texting.models import Direction, Message, MessageStatus
from texting.outbox import outbox_drain
from texting.tests.test_outbox import ScriptedProvider

pytestmark = pytest.mark.django_db

TOKEN = "storm-auth-token-0123456789abcdef"
BASE = "https://spoke.example.org"
ACCOUNT = "AC" + "1" * 32
CELL = "+12025550100"


@pytest.fixture(autouse=True)
def twilio_settings(settings: SettingsWrapper) -> None:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_ACCOUNT_SID = ACCOUNT
    settings.PUBLIC_BASE_URL = BASE


def _signed_post(client: Client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}{path}", data)
    return client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sent(contact: Contact) -> Message:
    Contact.objects.filter(pk=contact.pk).update(cell=CELL, status=ContactStatus.MESSAGED)
    return MessageFactory(contact=contact, to_number=CELL, provider_sid="SM" + "a" * 32, status=MessageStatus.SENT)


def _status(message: Message, status: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT, "MessageSid": message.provider_sid or "", "MessageStatus": status, **extra}


def _inbound(sid: str, body: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT, "MessageSid": sid, "From": CELL, "To": "+15005550006", "Body": body}


@pytest.mark.parametrize("path", ["/webhooks/twilio/inbound", "/webhooks/twilio/status"])
def test_an_oversized_webhook_is_refused_with_413_before_anything_is_stored(
    client: Client, sent: Message, settings: SettingsWrapper, path: str
) -> None:
    settings.WEBHOOK_MAX_BYTES = 2048
    data = {**_inbound("SM" + "b" * 32, "x" * 4000), "MessageStatus": "delivered"}
    response = _signed_post(client, path, data)
    assert response.status_code == 413
    assert "at most 2048 bytes" in response.content.decode()
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 0
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_a_body_just_under_the_limit_is_accepted(client: Client, sent: Message, settings: SettingsWrapper) -> None:
    settings.WEBHOOK_MAX_BYTES = 4096
    assert _signed_post(client, "/webhooks/twilio/inbound", _inbound("SM" + "c" * 32, "y" * 1500)).status_code == 200


def test_a_replayed_request_with_a_changed_parameter_is_refused(client: Client, sent: Message) -> None:
    data = _status(sent, "delivered")
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/webhooks/twilio/status", data)
    tampered = {**data, "MessageStatus": "undelivered", "ErrorCode": "30007"}
    response = client.post("/webhooks/twilio/status", tampered, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_the_same_status_callback_a_hundred_times_changes_the_message_once(client: Client, sent: Message) -> None:
    assert _signed_post(client, "/webhooks/twilio/status", _status(sent, "delivered")).status_code == 204
    sent.refresh_from_db()
    first_delivered_at = sent.delivered_at
    assert sent.status == MessageStatus.DELIVERED and first_delivered_at is not None
    for _ in range(99):
        assert _signed_post(client, "/webhooks/twilio/status", _status(sent, "delivered")).status_code == 204
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.delivered_at == first_delivered_at
    assert Message.objects.count() == 1


def test_a_storm_of_callbacks_in_any_order_ends_at_the_furthest_status(client: Client, sent: Message) -> None:
    storm = ["queued", "sending", "sent", "delivered"] * 25
    random.Random(6).shuffle(storm)
    for status in storm:
        assert _signed_post(client, "/webhooks/twilio/status", _status(sent, status)).status_code == 204
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED


def test_a_reply_delivered_a_hundred_times_is_stored_once(client: Client, sent: Message) -> None:
    for _ in range(100):
        assert _signed_post(client, "/webhooks/twilio/inbound", _inbound("SM" + "d" * 32, "Yes!")).status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    contact = Contact.objects.get(cell=CELL)
    assert contact.status == ContactStatus.NEEDS_RESPONSE


def test_a_repeated_stop_opts_out_once_with_one_audit_event(client: Client, sent: Message) -> None:
    for _ in range(20):
        assert _signed_post(client, "/webhooks/twilio/inbound", _inbound("SM" + "e" * 32, "STOP")).status_code == 200
    assert OptOut.objects.filter(cell=CELL).count() == 1
    assert OptOutEvent.objects.filter(cell=CELL, action=OptOutEvent.Action.OPT_OUT).count() == 1
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> ScriptedProvider:
    scripted = ScriptedProvider()
    monkeypatch.setattr("texting.outbox.get_provider", lambda *args, **kwargs: scripted)
    return scripted


def test_a_stop_arriving_while_messages_to_that_cell_are_queued_stops_all_of_them(
    client: Client, sent: Message, campaign: Campaign, provider: ScriptedProvider
) -> None:
    # The same person is a contact in a second campaign of the organization, with a message queued
    # there too, and a follow-up queued in the first.
    other = CampaignFactory(organization=campaign.organization)
    elsewhere = ContactFactory(campaign=other, cell=CELL)
    waiting = [
        MessageFactory(contact=sent.contact, to_number=CELL, status=MessageStatus.QUEUED, queued_at=timezone.now()),
        MessageFactory(contact=elsewhere, to_number=CELL, status=MessageStatus.QUEUED, queued_at=timezone.now()),
    ]
    assert _signed_post(client, "/webhooks/twilio/inbound", _inbound("SM" + "f" * 32, "stop")).status_code == 200
    outbox_drain(messaging_service_sid="")
    assert provider.sent == []
    for message in waiting:
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED and "opted out" in message.status_note
