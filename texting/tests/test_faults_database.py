"""The database connection dropped in the middle of a request: the request fails cleanly (a 5xx,
no traceback shown, the provider retries a webhook) and nothing it started is left half-written.

On PostgreSQL the request's own backend is really terminated from another connection
(pg_terminate_backend) just before one of its statements; SQLite has no server to drop, so there
the driver raises the same OperationalError at the same point."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper
from twilio.request_validator import RequestValidator

from accounts.models import User
from campaigns.models import Contact, ContactStatus
from core.queries import statement_text
from spoke.testing import MessageFactory
from texting.models import Direction, Message, MessageStatus

pytestmark = pytest.mark.django_db(transaction=True)


class DropConnectionBefore:
    """Drop this thread's database connection just before the first statement starting with `sql`."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.dropped = False

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        # The hot paths' statements run prepared (EXECUTE spoke_…): match what they stand for.
        if not self.dropped and statement_text(sql).startswith(self.sql):
            self.dropped = True
            self._drop(context["connection"])
        return execute(sql, params, many, context)

    @staticmethod
    def _drop(wrapper: Any) -> None:
        if wrapper.vendor != "postgresql":
            raise OperationalError("server closed the connection unexpectedly")
        pid = wrapper.connection.get_backend_pid()
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()


def _state(contact: Contact) -> tuple[int, str]:
    contact.refresh_from_db()
    return Message.objects.filter(contact=contact).count(), contact.status


# The send's insert of the message, then (after it) its update of the contact.
@pytest.mark.parametrize("statement", ['INSERT INTO "texting_message"', 'UPDATE "campaigns_contact"'])
def test_a_send_whose_connection_drops_fails_cleanly_and_writes_nothing(
    client: Client, texter: User, contact: Contact, statement: str
) -> None:
    client.force_login(texter)
    url = reverse("texter:contact_send", args=[contact.pk])
    data = {"body": "", "send_key": str(uuid.uuid4()), "first_message": True}
    before = _state(contact)
    fault = DropConnectionBefore(statement)
    client.raise_request_exception = False
    with connection.execute_wrapper(fault):
        response = client.post(url, data, content_type="application/json")
    assert fault.dropped
    assert response.status_code >= 500
    assert b"Traceback" not in response.content and b"OperationalError" not in response.content
    assert _state(contact) == before == (0, ContactStatus.NEEDS_MESSAGE)
    # The connection comes back by itself: the texter's next click sends once.
    assert client.post(url, data, content_type="application/json").status_code == 200
    assert _state(contact) == (1, ContactStatus.MESSAGED)


TOKEN = "db-fault-token-0123456789abcdef"


def test_an_inbound_webhook_whose_connection_drops_answers_5xx_and_stores_nothing_until_retried(
    settings: SettingsWrapper, contact: Contact
) -> None:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = "https://spoke.example.org"
    Contact.objects.filter(pk=contact.pk).update(cell="+12025550100", status=ContactStatus.MESSAGED)
    MessageFactory(contact=contact, to_number="+12025550100", provider_sid="SM" + "0" * 32, status=MessageStatus.SENT)
    data = {"MessageSid": "SM" + "1" * 32, "From": "+12025550100", "To": "+15005550006", "Body": "Yes"}
    path = "/webhooks/twilio/inbound"
    signature = RequestValidator(TOKEN).compute_signature(f"{settings.PUBLIC_BASE_URL}{path}", data)
    fault = DropConnectionBefore('INSERT INTO "texting_message"')  # the reply matched, as it is stored
    with connection.execute_wrapper(fault):
        response = Client(raise_request_exception=False).post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert fault.dropped and response.status_code >= 500  # Twilio retries a 5xx
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 0
    assert Contact.objects.get(pk=contact.pk).status == ContactStatus.MESSAGED
    # Twilio's retry arrives on a working connection and is stored once.
    retry = Client().post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert retry.status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Contact.objects.get(pk=contact.pk).status == ContactStatus.NEEDS_RESPONSE
