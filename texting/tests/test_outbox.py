from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import pytest
from django.db import connection, connections
from django.utils import timezone

from campaigns.models import Campaign, Contact, OptOut
from spoke.testing import ContactFactory, MessageFactory
from texting.models import Message, MessageStatus
from texting.outbox import MAX_ATTEMPTS, outbox_claim, outbox_drain, outbox_send_batch
from texting.providers.base import (
    FailureKind,
    InboundSMS,
    OutboundSMS,
    ProviderError,
    SendResult,
    StatusReport,
)

pytestmark = pytest.mark.django_db


@dataclass
class ScriptedProvider:
    """The SMS provider edge, scripted: fails with `failures[body]` or accepts."""

    name: str = "scripted"
    failures: dict[str, ProviderError] = field(default_factory=dict)
    sent: list[OutboundSMS] = field(default_factory=list)

    def send(self, message: OutboundSMS) -> SendResult:
        self.sent.append(message)
        if message.body in self.failures:
            raise self.failures[message.body]
        return SendResult(sid=f"SMscripted{len(self.sent):04d}", status="queued")

    def reactions(self, message: OutboundSMS, result: SendResult) -> tuple[list[StatusReport], list[InboundSMS]]:
        return [], []


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> ScriptedProvider:
    scripted = ScriptedProvider()
    monkeypatch.setattr("texting.outbox.get_provider", lambda: scripted)
    return scripted


def queued(contact: Contact, body: str = "Hello", **kwargs: object) -> Message:
    return MessageFactory(
        contact=contact, body=body, status=MessageStatus.QUEUED, queued_at=timezone.now(), provider_sid=None, **kwargs
    )


def test_claims_never_overlap_and_move_messages_to_sending(contact: Contact) -> None:
    ids = [queued(contact, body=f"m{i}").pk for i in range(5)]
    first = outbox_claim(messaging_service_sid="", limit=3)
    second = outbox_claim(messaging_service_sid="", limit=3)
    assert [c.id for c in first] == ids[:3]
    assert [c.id for c in second] == ids[3:]
    assert outbox_claim(messaging_service_sid="", limit=3) == []
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENDING}


def test_claim_is_per_messaging_service(contact: Contact) -> None:
    queued(contact, messaging_service_sid="MGaaa")
    other = queued(contact, messaging_service_sid="MGbbb")
    assert [c.id for c in outbox_claim(messaging_service_sid="MGbbb", limit=10)] == [other.pk]


def test_drain_sends_every_queued_message_once_and_records_the_sid(
    contact: Contact, provider: ScriptedProvider
) -> None:
    messages = [queued(contact, body=f"m{i}") for i in range(7)]
    assert outbox_drain(messaging_service_sid="", batch_size=3) == 7
    assert [m.body for m in provider.sent] == [f"m{i}" for i in range(7)]
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT and message.provider_sid and message.sent_at
    assert outbox_drain(messaging_service_sid="") == 0
    assert len(provider.sent) == 7


@pytest.mark.parametrize("count", [5, 40])
def test_drain_writes_results_per_batch_not_per_message(
    contact: Contact, campaign: Campaign, provider: ScriptedProvider, assert_statements, count: int
) -> None:
    for i in range(count):
        queued(ContactFactory(campaign=campaign), body=f"m{i}")
    # claim, re-check, bulk result write, then the empty claim that ends the loop
    with assert_statements(4):
        outbox_drain(messaging_service_sid="", batch_size=100)
    assert len(provider.sent) == count


def test_messages_that_became_unsendable_are_cancelled_with_the_reason(
    contact: Contact, campaign: Campaign, provider: ScriptedProvider
) -> None:
    opted = ContactFactory(campaign=campaign, is_opted_out=True)
    late = queued(contact, body="late", send_before=timezone.now() - dt.timedelta(minutes=1))
    out = queued(opted, body="opted")
    assert outbox_drain(messaging_service_sid="") == 2
    assert provider.sent == []
    late.refresh_from_db()
    out.refresh_from_db()
    assert late.status == out.status == MessageStatus.CANCELLED
    assert "Texting hours ended" in late.status_note
    assert "opted out" in out.status_note


def test_archived_campaign_messages_are_not_sent(
    contact: Contact, campaign: Campaign, provider: ScriptedProvider
) -> None:
    message = queued(contact)
    Campaign.objects.filter(pk=campaign.pk).update(is_archived=True)
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED and provider.sent == []


def test_opt_out_notice_is_sent_to_the_contact_who_just_opted_out(contact: Contact, provider: ScriptedProvider) -> None:
    Contact.objects.filter(pk=contact.pk).update(is_opted_out=True)
    notice = queued(contact, body="You're opted out", is_opt_out_notice=True)
    outbox_drain(messaging_service_sid="")
    notice.refresh_from_db()
    assert notice.status == MessageStatus.SENT


def test_transient_failure_is_retried_then_failed_after_the_limit(contact: Contact, provider: ScriptedProvider) -> None:
    provider.failures["busy"] = ProviderError("429", kind=FailureKind.TRANSIENT, code=20429)
    message = queued(contact, body="busy")
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert len(provider.sent) == MAX_ATTEMPTS
    assert message.status == MessageStatus.FAILED and message.error_code == 20429


def test_ambiguous_failure_goes_to_review_and_is_never_resent(contact: Contact, provider: ScriptedProvider) -> None:
    provider.failures["maybe"] = ProviderError("timeout", kind=FailureKind.AMBIGUOUS)
    message = queued(contact, body="maybe")
    outbox_drain(messaging_service_sid="")
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.REVIEW
    assert len(provider.sent) == 1


def test_permanent_failure_is_failed_with_the_catalog_description(contact: Contact, provider: ScriptedProvider) -> None:
    provider.failures["bad"] = ProviderError("400", kind=FailureKind.PERMANENT, code=21211)
    message = queued(contact, body="bad")
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == 21211 and message.status_note == "Invalid 'To' phone number"


def test_fake_provider_error_code_in_body_fails_and_opts_out(contact: Contact) -> None:
    message = queued(contact, body="please error21610")
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    contact.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == 21610
    assert contact.is_opted_out and OptOut.objects.filter(cell=contact.cell).exists()


def test_send_batch_returns_only_accepted_messages(contact: Contact, provider: ScriptedProvider) -> None:
    provider.failures["bad"] = ProviderError("400", kind=FailureKind.PERMANENT, code=21211)
    queued(contact, body="good")
    queued(contact, body="bad")
    accepted = outbox_send_batch(batch=outbox_claim(messaging_service_sid="", limit=10), provider=provider)
    assert [outbound.body for outbound, _sid in accepted] == ["good"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED claims are PostgreSQL's (run by .ci/run)")
def test_concurrent_claimers_on_postgresql_never_claim_the_same_message(contact: Contact) -> None:
    total = 400
    Message.objects.bulk_create(
        [
            Message(
                organization=contact.campaign.organization,
                campaign=contact.campaign,
                contact=contact,
                direction="out",
                body=f"m{i}",
                status=MessageStatus.QUEUED,
                to_number=contact.cell,
            )
            for i in range(total)
        ]
    )
    claimed: list[list[int]] = [[], [], [], []]
    barrier = threading.Barrier(len(claimed))

    def worker(slot: int) -> None:
        try:
            barrier.wait()
            while batch := outbox_claim(messaging_service_sid="", limit=7):
                claimed[slot].extend(c.id for c in batch)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(claimed))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for slot in claimed for i in slot]
    assert len(every) == total and len(set(every)) == total
    assert sum(1 for slot in claimed if slot) > 1, "the claimers should have shared the work"
