from __future__ import annotations

import datetime as dt
import threading
import time as time_module
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Organization
from campaigns.models import Campaign, Contact, ContactStatus, OptOut
from spoke.testing import ContactFactory, MessageFactory
from texting.models import Message, MessageStatus
from texting.outbox import Claimed, Providers, outbox_claim, outbox_drain, outbox_send_batch, retry_delay
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
    """The SMS provider edge, scripted: fails with `failures[body]` or accepts. Thread-safe."""

    name: str = "scripted"
    failures: dict[str, Exception] = field(default_factory=dict)
    sent: list[OutboundSMS] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: OutboundSMS) -> SendResult:
        with self.lock:
            self.sent.append(message)
            number = len(self.sent)
        if message.body in self.failures:
            raise self.failures[message.body]
        return SendResult(sid=f"SMscripted{number:04d}-{message.body}", status="queued")

    def reactions(self, message: OutboundSMS, result: SendResult) -> tuple[list[StatusReport], list[InboundSMS]]:
        return [], []


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> ScriptedProvider:
    scripted = ScriptedProvider()
    monkeypatch.setattr("texting.outbox.get_provider", lambda *args, **kwargs: scripted)
    return scripted


@pytest.fixture(autouse=True)
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Delayed jobs (retry drains) recorded instead of run on a timer."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("core.jobs.enqueue_at", lambda func, **kwargs: calls.append({"func": func, **kwargs}))
    return calls


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
    assert sorted(m.body for m in provider.sent) == sorted(f"m{i}" for i in range(7))
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


def test_transient_failure_is_put_back_with_a_backoff_and_a_drain_scheduled(
    contact: Contact, provider: ScriptedProvider, scheduled: list[dict[str, object]]
) -> None:
    provider.failures["busy"] = ProviderError("429", kind=FailureKind.TRANSIENT, code=20429)
    message = queued(contact, body="busy")
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        assert outbox_drain(messaging_service_sid="") == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1 and message.error_code == 20429
    assert message.next_attempt_at == dt.datetime(2026, 3, 2, 15, 0, 5, tzinfo=dt.UTC)
    assert "Retrying" in message.status_note
    # The drain did not spin on it: one try, and a drain is scheduled for when it is due.
    assert len(provider.sent) == 1
    assert [(c["when"], c["job_id"]) for c in scheduled] == [
        (message.next_attempt_at, f"drain-retry-default-{int(message.next_attempt_at.timestamp())}")
    ]


def test_a_retry_due_within_a_second_is_scheduled_for_the_next_whole_second(
    contact: Contact, provider: ScriptedProvider, scheduled: list[dict[str, object]]
) -> None:
    # RQ's scheduler truncates to whole seconds: a drain at 15:00:05 would find the message due at
    # 15:00:05.25 not yet due and stop. The drain is scheduled for 15:00:06 instead.
    provider.failures["busy"] = ProviderError("429", kind=FailureKind.TRANSIENT, code=20429)
    message = queued(contact, body="busy")
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, 0, 250_000, tzinfo=dt.UTC), tick=False):
        outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.next_attempt_at == dt.datetime(2026, 3, 2, 15, 0, 5, 250_000, tzinfo=dt.UTC)
    assert [c["when"] for c in scheduled] == [dt.datetime(2026, 3, 2, 15, 0, 6, tzinfo=dt.UTC)]


def test_a_message_waiting_for_its_backoff_is_not_claimed_before_it_is_due(contact: Contact) -> None:
    now = timezone.now()
    waiting = queued(contact, body="later", next_attempt_at=now + dt.timedelta(seconds=30))
    assert outbox_claim(messaging_service_sid="", limit=10, now=now) == []
    assert [c.id for c in outbox_claim(messaging_service_sid="", limit=10, now=now + dt.timedelta(seconds=31))] == [
        waiting.pk
    ]


def test_transient_failures_back_off_exponentially_then_fail_at_the_limit(
    contact: Contact, provider: ScriptedProvider, settings: SettingsWrapper
) -> None:
    settings.SEND_MAX_ATTEMPTS = 4
    provider.failures["busy"] = ProviderError("503", kind=FailureKind.TRANSIENT)
    message = queued(contact, body="busy")
    now = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    waits = []
    for _ in range(4):
        with time_machine.travel(now, tick=False):
            outbox_drain(messaging_service_sid="")
        message.refresh_from_db()
        if message.next_attempt_at is not None:
            waits.append((message.next_attempt_at - now).total_seconds())
            now = message.next_attempt_at
    assert waits == [5, 10, 20]
    assert message.status == MessageStatus.FAILED and message.attempts == 4
    assert len(provider.sent) == 4


def test_retry_delay_is_capped(settings: SettingsWrapper) -> None:
    settings.SEND_RETRY_BASE_SECONDS, settings.SEND_RETRY_MAX_SECONDS = 5, 60
    assert [retry_delay(n).total_seconds() for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_ambiguous_failure_goes_to_review_and_is_never_resent(contact: Contact, provider: ScriptedProvider) -> None:
    provider.failures["maybe"] = ProviderError("timeout", kind=FailureKind.AMBIGUOUS)
    message = queued(contact, body="maybe")
    outbox_drain(messaging_service_sid="")
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.REVIEW
    assert len(provider.sent) == 1


def test_an_unexpected_error_while_sending_goes_to_review(contact: Contact, provider: ScriptedProvider) -> None:
    provider.failures["bug"] = RuntimeError("the library broke after writing the request")
    message = queued(contact, body="bug")
    outbox_drain(messaging_service_sid="")
    message.refresh_from_db()
    assert message.status == MessageStatus.REVIEW and len(provider.sent) == 1


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
    outcome = outbox_send_batch(batch=outbox_claim(messaging_service_sid="", limit=10), provider=provider)
    assert [outbound.body for outbound, _sid in outcome.accepted] == ["good"]


def _bulk_queue(contact: Contact, total: int) -> None:
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


def _in_threads(count: int, target: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            barrier.wait()
            target(slot)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


# On PostgreSQL (CI) the claimers race through FOR UPDATE SKIP LOCKED; on SQLite (make test) the
# same threads are serialised by SQLite's write lock. The test id names the database it ran on.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("database", [connection.vendor])
def test_concurrent_claimers_never_claim_the_same_message(contact: Contact, database: str) -> None:
    total = 400
    _bulk_queue(contact, total)
    claimed: list[list[int]] = [[], [], [], []]

    sizes: list[int] = []

    def claim_all(slot: int) -> None:
        while batch := outbox_claim(messaging_service_sid="", limit=7):
            sizes.append(len(batch))
            claimed[slot].extend(c.id for c in batch)

    _in_threads(len(claimed), claim_all)
    every = [i for slot in claimed for i in slot]
    assert len(every) == total and len(set(every)) == total
    assert max(sizes) <= 7, "a claim took more than its limit (the locking subquery ran more than once)"
    if database == "postgresql":
        # SKIP LOCKED lets them work side by side; SQLite's lock may hand one thread everything.
        assert sum(1 for slot in claimed if slot) > 1, "the claimers should have shared the work"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("database", [connection.vendor])
def test_two_workers_draining_at_once_send_every_message_exactly_once(
    contact: Contact, provider: ScriptedProvider, database: str
) -> None:
    total = 300
    _bulk_queue(contact, total)
    _in_threads(2, lambda slot: outbox_drain(messaging_service_sid="", batch_size=10) and None)
    bodies = [m.body for m in provider.sent]
    assert len(bodies) == total and len(set(bodies)) == total
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_a_batch_is_sent_concurrently(contact: Contact, campaign: Campaign, settings: SettingsWrapper) -> None:
    meeting = threading.Barrier(3, timeout=5)

    class Meeting(ScriptedProvider):
        def send(self, message: OutboundSMS) -> SendResult:
            meeting.wait()  # three sends in flight at once, or BrokenBarrierError
            return super().send(message)

    for i in range(6):
        queued(ContactFactory(campaign=campaign), body=f"m{i}")
    settings.SEND_CONCURRENCY = 3
    outcome = outbox_send_batch(
        batch=outbox_claim(messaging_service_sid="", limit=10),
        provider=Meeting(),
        pool=ThreadPoolExecutor(max_workers=3),
    )
    assert len(outcome.accepted) == 6


def test_sends_are_paced_by_the_organizations_rate_per_messaging_service(
    contact: Contact, campaign: Campaign, provider: ScriptedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int, float]] = []

    def schedule(key: str, count: int, *, rate: float, burst: float | None = None) -> list[float]:
        calls.append((key, count, rate))
        return [0.0] * count

    monkeypatch.setattr("core.ratelimit.schedule", schedule)
    Organization.objects.filter(pk=campaign.organization_id).update(send_rate_per_second=7)
    for i in range(3):
        queued(ContactFactory(campaign=campaign), body=f"m{i}", messaging_service_sid="MGpaced")
    outbox_drain(messaging_service_sid="MGpaced")
    assert calls == [("send:MGpaced", 3, 7.0)]  # the batch's three tokens in one call


def test_each_send_waits_for_its_slot(
    contact: Contact, campaign: Campaign, provider: ScriptedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    Organization.objects.filter(pk=campaign.organization_id).update(send_rate_per_second=4)
    monkeypatch.setattr("core.ratelimit.schedule", lambda key, count, *, rate, burst=None: [0.0, 0.25, 0.5][:count])
    slept: list[float] = []
    monkeypatch.setattr("texting.outbox.time.sleep", slept.append)
    for i in range(3):
        queued(ContactFactory(campaign=campaign), body=f"m{i}", messaging_service_sid="MGslots")
    outbox_drain(messaging_service_sid="MGslots")
    assert len(slept) == 2 and slept[0] == pytest.approx(0.25, abs=0.05) and slept[1] == pytest.approx(0.5, abs=0.05)


def test_without_an_organization_rate_the_server_default_applies(
    contact: Contact, provider: ScriptedProvider, monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper
) -> None:
    settings.SEND_RATE_PER_SECOND = 42
    calls: list[float] = []

    def schedule(key: str, count: int, *, rate: float, burst: float | None = None) -> list[float]:
        calls.append(rate)
        return [0.0] * count

    monkeypatch.setattr("core.ratelimit.schedule", schedule)
    queued(contact)
    outbox_drain(messaging_service_sid="")
    assert calls == [42.0]


def test_an_organization_with_its_own_twilio_account_sends_through_it(
    contact: Contact, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[dict[str, str]] = []
    scripted = ScriptedProvider()

    def get_provider(*args: object, **kwargs: str) -> ScriptedProvider:
        made.append(kwargs)
        return scripted

    monkeypatch.setattr("texting.outbox.get_provider", get_provider)
    Organization.objects.filter(pk=campaign.organization_id).update(
        twilio_account_sid="ACorg", twilio_auth_token="org-token"
    )
    for i in range(3):
        queued(ContactFactory(campaign=campaign), body=f"m{i}")
    outbox_drain(messaging_service_sid="")
    # One provider (one keep-alive session) for the whole drain, with the organization's account.
    assert made == [{"account_sid": "ACorg", "auth_token": "org-token"}]
    assert len(scripted.sent) == 3


def test_providers_are_made_once_per_account(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, str]] = []

    def get_provider(**kwargs: str) -> ScriptedProvider:
        made.append(kwargs)
        return ScriptedProvider()

    monkeypatch.setattr("texting.outbox.get_provider", get_provider)
    providers = Providers()
    first = [providers.get(None), providers.get(("ACa", "ta")), providers.get(("ACb", "tb"))]
    again = [providers.get(None), providers.get(("ACa", "ta")), providers.get(("ACb", "tb"))]
    assert all(a is b for a, b in zip(first, again, strict=True)) and len({id(p) for p in first}) == 3
    assert made == [{}, {"account_sid": "ACa", "auth_token": "ta"}, {"account_sid": "ACb", "auth_token": "tb"}]


@pytest.mark.parametrize(
    ("code", "opted_out", "status"),
    [(21610, True, ContactStatus.CLOSED), (21614, False, ContactStatus.CLOSED), (21211, False, ContactStatus.CLOSED)],
)
def test_a_refusal_at_send_time_applies_the_error_action(
    contact: Contact, provider: ScriptedProvider, code: int, opted_out: bool, status: str
) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    provider.failures["x"] = ProviderError("400", kind=FailureKind.PERMANENT, code=code)
    queued(contact, body="x")
    outbox_drain(messaging_service_sid="")
    contact.refresh_from_db()
    assert (contact.is_opted_out, contact.status, contact.error_code) == (opted_out, status, code)


def test_a_long_drain_hands_over_to_a_fresh_job(
    contact: Contact, provider: ScriptedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    kicked: list[str] = []
    monkeypatch.setattr("texting.services.outbox_kick", lambda *, messaging_service_sid: kicked.append("kick"))
    monkeypatch.setattr("texting.outbox.DRAIN_TIME_BUDGET_SECONDS", -1)
    queued(contact)
    assert outbox_drain(messaging_service_sid="") == 0
    assert kicked == ["kick"] and provider.sent == []


def test_at_a_slow_rate_batches_shrink_to_a_few_seconds_of_sending(
    contact: Contact,
    campaign: Campaign,
    provider: ScriptedProvider,
    monkeypatch: pytest.MonkeyPatch,
    settings: SettingsWrapper,
) -> None:
    monkeypatch.setattr("core.ratelimit.schedule", lambda key, count, *, rate, burst=None: [0.0] * count)
    claims: list[int] = []
    real_claim = outbox_claim

    def counting_claim(**kwargs: object) -> list[Claimed]:
        batch = real_claim(**kwargs)  # type: ignore[arg-type]
        claims.append(len(batch))
        return batch

    monkeypatch.setattr("texting.outbox.outbox_claim", counting_claim)
    settings.SEND_CONCURRENCY = 2
    Organization.objects.filter(pk=campaign.organization_id).update(send_rate_per_second=1)
    for i in range(40):
        queued(contact, body=f"m{i}")
    outbox_drain(messaging_service_sid="", batch_size=25)
    # The first batch finds out the rate (1/s); the next ones hold ten seconds' worth.
    assert claims == [25, 10, 5, 0]
    assert len(provider.sent) == 40


def test_a_worker_drain_keeps_looking_a_moment_before_its_job_ends(
    contact: Contact,
    campaign: Campaign,
    provider: ScriptedProvider,
    monkeypatch: pytest.MonkeyPatch,
    settings: SettingsWrapper,
) -> None:
    """In a worker the drain looks again for SEND_DRAIN_LINGER_SECONDS after the outbox emptied, so
    a send arriving meanwhile goes out in the same job; in process (no Redis) it ends at once."""
    settings.JOBS_SYNC = False
    settings.SEND_DRAIN_LINGER_SECONDS = 0.3
    queued(contact, body="first")
    later = ContactFactory(campaign=campaign)
    naps: list[float] = []
    real_sleep = time_module.sleep

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            queued(later, body="arrived while the drain looked again")
        real_sleep(seconds)

    monkeypatch.setattr("texting.outbox.time.sleep", nap)
    assert outbox_drain(messaging_service_sid="") == 2
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 2
    assert 2 <= len(naps) <= 0.3 / 0.05 * 2 + 2  # looked again every 50 ms, then gave up
    settings.JOBS_SYNC = True
    naps.clear()
    assert outbox_drain(messaging_service_sid="") == 0
    assert naps == []
