"""The maintenance switch: texters see the notice, sends and API writes answer 503 with a human
message, webhooks are still stored, the outbox waits and sends everything once it is off."""

from __future__ import annotations

import io
import json
import logging
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token
from twilio.request_validator import RequestValidator

from accounts.models import User
from campaigns.models import Contact
from ops.maintenance import maintenance_get, maintenance_resync, maintenance_set
from texting.models import Direction, Message, MessageStatus
from texting.services import message_send

pytestmark = pytest.mark.django_db

NOTICE = "Upgrading the database, back at 10:15."


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("maintenance", *args, stdout=out)
    return out.getvalue()


def send(client: Client, contact: Contact) -> Any:
    return client.post(
        f"/texter/contacts/{contact.pk}/send/",
        json.dumps({"body": "", "send_key": str(uuid.uuid4()), "first_message": True}),
        content_type="application/json",
    )


def test_texters_see_the_notice_and_their_sends_are_refused_with_it(
    texter_client: Client, contact: Contact, caplog: pytest.LogCaptureFixture
) -> None:
    assert "ON" in run("on", "--message", NOTICE)
    page = texter_client.get("/texter/")
    assert page.status_code == 200
    assert 'class="maintenance-banner"' in page.content.decode() and NOTICE in page.content.decode()

    response = send(texter_client, contact)
    assert response.status_code == 503
    assert response.json() == {"detail": NOTICE, "error": NOTICE, "code": "maintenance"}
    assert response["Retry-After"]
    assert not Message.objects.exists()
    # An expected refusal, not a server error in the logs.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # A browser's form post gets a page that says it, not JSON.
    form = texter_client.post(f"/texter/contacts/{contact.pk}/skip/")
    assert form.status_code == 503 and "down for maintenance" in form.content.decode()

    assert "OFF" in run("off")
    assert "maintenance-banner" not in texter_client.get("/texter/").content.decode()
    assert send(texter_client, contact).status_code == 200


def test_api_writes_are_refused_and_reads_still_answer(client: Client, owner: User) -> None:
    token = Token.objects.create(user=owner)
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    maintenance_set(enabled=True, message="", acting="test")
    response = client.post("/api/v1/campaigns/", {"title": "New"}, **headers)
    assert response.status_code == 503
    assert response.json()["code"] == "maintenance"
    assert "maintenance" in response.json()["detail"]  # the default MAINTENANCE_MESSAGE
    assert client.get("/api/v1/campaigns/", **headers).status_code == 200


def test_webhooks_login_and_the_back_office_stay_open(
    client: Client, contact: Contact, owner: User, settings: SettingsWrapper
) -> None:
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID = "maintenance-test-token", "AC" + "1" * 32
    Message.objects.create(
        contact=contact,
        campaign=contact.campaign,
        organization=contact.campaign.organization,
        direction=Direction.OUTBOUND,
        body="Hi",
        status=MessageStatus.SENT,
        to_number=contact.cell,
        provider_sid="SM" + "2" * 32,
    )
    maintenance_set(enabled=True, message=NOTICE, acting="test")
    data = {"AccountSid": settings.TWILIO_ACCOUNT_SID, "MessageSid": "SM" + "3" * 32, "From": contact.cell}
    data |= {"To": "+15005550006", "Body": "Yes I'll vote"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/inbound", data
    )
    assert client.post("/webhooks/twilio/inbound", data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND, contact=contact).count() == 1

    assert client.post("/accounts/login/", {"username": owner.email, "password": "x"}).status_code == 200
    client.force_login(owner)
    assert client.get("/admin/").status_code == 200


def test_the_outbox_waits_during_maintenance_and_sends_after(
    texter: User, contact: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    maintenance_set(enabled=True, message=NOTICE, acting="test")
    with django_capture_on_commit_callbacks(execute=True):  # the drain runs, and pauses
        message = message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4())
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED

    with django_capture_on_commit_callbacks(execute=True):
        output = run("off")
    assert "Resumed the outbox of 1 messaging service" in output
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED  # the fake provider reports delivery at once


def test_the_environment_forces_it_on(settings: SettingsWrapper) -> None:
    settings.MAINTENANCE_MODE = True
    assert maintenance_get().enabled and maintenance_get().forced
    assert "forced by MAINTENANCE_MODE" in run("off")


def test_a_lost_cached_copy_is_restored_from_the_database() -> None:
    maintenance_set(enabled=True, message=NOTICE, acting="test")
    cache.clear()  # Redis flushed or restarted
    from ops.maintenance import _forget

    _forget()
    assert maintenance_get().enabled is False
    maintenance_resync()  # every outbox sweep does this
    _forget()
    assert maintenance_get().enabled is True and maintenance_get().message == NOTICE


def test_message_goes_only_with_on() -> None:
    with pytest.raises(CommandError, match="--message goes with 'on'"):
        run("off", "--message", "x")


def test_without_redis_the_command_says_a_running_server_will_not_see_it(settings: SettingsWrapper) -> None:
    settings.REDIS_URL = ""
    assert "System status page" in run("on")
    settings.REDIS_URL = "redis://127.0.0.1:6379/5"
    assert "System status page" not in run("off")
