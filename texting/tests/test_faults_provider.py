"""The provider misbehaving, through the real twilio SDK against a local fake Twilio: a 500 or a
429 is retried later (it was not accepted), malformed JSON with an error status is retried too,
malformed JSON with a success status or no answer in time may have been accepted and goes to
review, never sent again."""

from __future__ import annotations

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from campaigns.models import Contact
from spoke.testing import MessageFactory
from texting.models import Message, MessageStatus
from texting.outbox import outbox_drain
from texting.tests.test_provider_twilio import ACCOUNT, FakeTwilio, twilio_server

pytestmark = pytest.mark.django_db
__all__ = ["twilio_server"]  # the fixture, used by name


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("core.jobs.enqueue_at", lambda func, **kwargs: calls.append({"func": func, **kwargs}))
    return calls


@pytest.fixture
def through_fake_twilio(settings: SettingsWrapper, twilio_server: tuple[FakeTwilio, str]) -> FakeTwilio:
    state, url = twilio_server
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, "token"
    settings.TWILIO_API_BASE_URL = url
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_TIMEOUT_SECONDS = 1
    return state


def _queued(contact: Contact) -> Message:
    return MessageFactory(
        contact=contact, body="Hi", status=MessageStatus.QUEUED, queued_at=timezone.now(), provider_sid=None
    )


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (500, b'{"code": null, "message": "Internal Server Error", "status": 500}'),
        (500, b"<html>Internal Server Error</html>"),  # malformed JSON
        (503, b"{not json"),
        (429, b'{"code": 20429, "message": "Too Many Requests", "status": 429}'),
    ],
)
def test_an_error_answer_is_retried_later_with_a_backoff(
    through_fake_twilio: FakeTwilio, contact: Contact, scheduled: list[dict[str, object]], status: int, raw: bytes
) -> None:
    through_fake_twilio.status, through_fake_twilio.raw = status, raw
    message = _queued(contact)
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.next_attempt_at is not None and message.next_attempt_at > timezone.now()
    assert len(scheduled) == 1  # a drain for when the retry is due
    # The provider recovers: the retry sends it, once.
    through_fake_twilio.status, through_fake_twilio.raw = 201, None
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_sid == "SMabc123"
    assert len(through_fake_twilio.requests) == 2


@pytest.mark.parametrize("fault", ["malformed success", "timeout"])
def test_an_answer_that_may_mean_accepted_goes_to_review_and_is_never_resent(
    through_fake_twilio: FakeTwilio, contact: Contact, fault: str
) -> None:
    if fault == "malformed success":
        through_fake_twilio.status, through_fake_twilio.raw = 201, b'{"sid": "SMabc'
    else:
        through_fake_twilio.delay = 1.5  # past TWILIO_TIMEOUT_SECONDS
    message = _queued(contact)
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.REVIEW
    through_fake_twilio.status, through_fake_twilio.raw, through_fake_twilio.delay = 201, None, 0
    outbox_drain(messaging_service_sid="")
    assert len(through_fake_twilio.requests) == 1
