"""The campaign dashboard hears `stats_changed` from every path that moves its numbers (sends,
results, delivery reports, replies, opt-outs), coalesced per campaign, at no extra SQL statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from channels.layers import get_channel_layer
from django.utils import timezone

from accounts.models import Organization, User
from campaigns.models import Campaign, Contact, OptOutSource
from campaigns.services import optout_create
from core.live import STATS_WINDOW_SECONDS, publish_stats_changed
from spoke.testing import AssignmentFactory, CampaignFactory, ContactFactory, MessageFactory
from texting.models import MessageStatus
from texting.outbox import outbox_claim, outbox_send_batch
from texting.providers.base import InboundSMS, OutboundSMS, SendResult, StatusReport
from texting.services import message_receive, message_send, message_status_update

pytestmark = pytest.mark.django_db

# 12:00 in New York: inside texting hours.
NY_NOON = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)

Published = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    """Every group_send of the channel layer, recorded instead of delivered."""
    sent: Published = []

    async def record(group: str, message: dict[str, Any]) -> None:
        sent.append((group, message))

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    return sent


def stats_events(published: Published) -> list[tuple[str, int]]:
    return [
        (group, message["payload"]["campaign_id"])
        for group, message in published
        if message.get("event") == "stats_changed"
    ]


class AcceptingProvider:
    name = "accepting"

    def send(self, message: OutboundSMS) -> SendResult:
        return SendResult(sid=f"SMaccept-{message.body}", status="queued")

    def reactions(self, message: OutboundSMS, result: SendResult) -> tuple[list[StatusReport], list[InboundSMS]]:
        return [], []


def test_queueing_a_message_publishes_to_the_campaign_group_once_per_window(
    contact: Contact, texter: User, campaign: Campaign, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    second = ContactFactory.create(campaign=campaign, assignment=contact.assignment)
    third = ContactFactory.create(campaign=campaign, assignment=contact.assignment)
    with time_machine.travel(NY_NOON, tick=False) as clock:
        # The commit also runs the drain: its sends and the fake provider's delivery reports fall
        # in the same window, so the campaign hears one event for all of it.
        with django_capture_on_commit_callbacks(execute=True):
            message_send(texter=texter, contact_id=contact.pk, body="", now=NY_NOON)
        with django_capture_on_commit_callbacks(execute=True):
            message_send(texter=texter, contact_id=second.pk, body="", now=NY_NOON)
        assert stats_events(published) == [(f"campaign.{campaign.pk}", campaign.pk)]
        first = next(message for _, message in published if message["event"] == "stats_changed")
        assert first["payload"] == {"campaign_id": campaign.pk, "window": STATS_WINDOW_SECONDS}

        clock.shift(STATS_WINDOW_SECONDS + 1)
        with django_capture_on_commit_callbacks(execute=True):
            message_send(texter=texter, contact_id=third.pk, body="", now=NY_NOON)
    assert stats_events(published) == [(f"campaign.{campaign.pk}", campaign.pk)] * 2


def test_coalescing_is_per_campaign_and_skips_nothing_after_the_window(
    campaign: Campaign, organization: Organization, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    other = CampaignFactory.create(organization=organization)
    with time_machine.travel(NY_NOON, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(50):
                publish_stats_changed(campaign_id=campaign.pk)
                publish_stats_changed(campaign_id=other.pk)
            publish_stats_changed(campaign_id=None)
        assert sorted(stats_events(published)) == sorted(
            [(f"campaign.{campaign.pk}", campaign.pk), (f"campaign.{other.pk}", other.pk)]
        )
        clock.shift(STATS_WINDOW_SECONDS - 1)
        with django_capture_on_commit_callbacks(execute=True):
            publish_stats_changed(campaign_id=campaign.pk)
        assert len(stats_events(published)) == 2  # still inside the window
        clock.shift(2)
        with django_capture_on_commit_callbacks(execute=True):
            publish_stats_changed(campaign_id=campaign.pk)
    assert len(stats_events(published)) == 3


def test_a_rolled_back_change_publishes_nothing_and_uses_no_window(
    campaign: Campaign, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                publish_stats_changed(campaign_id=campaign.pk)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert stats_events(published) == []
    with django_capture_on_commit_callbacks(execute=True):
        publish_stats_changed(campaign_id=campaign.pk)
    assert stats_events(published) == [(f"campaign.{campaign.pk}", campaign.pk)]


def test_an_outbox_batch_publishes_once_per_campaign_at_the_same_statement_count(
    campaign: Campaign,
    organization: Organization,
    published: Published,
    assert_statements: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = CampaignFactory.create(organization=organization)
    for index in range(4):
        MessageFactory.create(
            contact=ContactFactory.create(campaign=campaign if index % 2 else other),
            body=f"m{index}",
            status=MessageStatus.QUEUED,
            queued_at=timezone.now(),
            provider_sid=None,
        )
    with django_capture_on_commit_callbacks(execute=True):
        batch = outbox_claim(messaging_service_sid="", limit=10)
        assert {claimed.campaign_id for claimed in batch} == {campaign.pk, other.pk}
        # the re-check and the one result write, as before
        with assert_statements(2):
            outbox_send_batch(batch=batch, provider=AcceptingProvider())  # type: ignore[arg-type]
    assert sorted(stats_events(published)) == sorted(
        [(f"campaign.{campaign.pk}", campaign.pk), (f"campaign.{other.pk}", other.pk)]
    )


@pytest.mark.parametrize("error_code", [None, 30003])
def test_a_delivery_report_publishes_for_its_campaign_at_the_same_statement_count(
    contact: Contact,
    campaign: Campaign,
    published: Published,
    assert_statements: Any,
    django_capture_on_commit_callbacks: Any,
    error_code: int | None,
) -> None:
    MessageFactory.create(contact=contact, provider_sid="SMlive1", status=MessageStatus.SENT)
    status = "delivered" if error_code is None else "undelivered"
    with django_capture_on_commit_callbacks(execute=True):
        # no error: the update alone; with one: the update and the contact's error
        with assert_statements(1 if error_code is None else 2):
            assert message_status_update(report=StatusReport(sid="SMlive1", status=status, error_code=error_code))
    assert stats_events(published) == [(f"campaign.{campaign.pk}", campaign.pk)]


def test_a_repeated_delivery_report_publishes_nothing(
    contact: Contact, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    MessageFactory.create(contact=contact, provider_sid="SMlive2", status=MessageStatus.DELIVERED)
    with django_capture_on_commit_callbacks(execute=True):
        assert not message_status_update(report=StatusReport(sid="SMlive2", status="delivered"))
    assert stats_events(published) == []


def test_a_reply_publishes_for_its_campaign_at_the_same_statement_count(
    contact: Contact,
    campaign: Campaign,
    published: Published,
    assert_statements: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    MessageFactory.create(contact=contact, provider_sid="SMout1")
    inbound = InboundSMS(sid="SMin1", from_number=contact.cell, to_number="+15005550006", body="Yes!")
    with django_capture_on_commit_callbacks(execute=True):
        with assert_statements(3):  # match, insert, contact update
            assert message_receive(inbound=inbound) is not None
    assert stats_events(published) == [(f"campaign.{campaign.pk}", campaign.pk)]


def test_an_unmatched_reply_publishes_nothing(published: Published, django_capture_on_commit_callbacks: Any) -> None:
    inbound = InboundSMS(sid="SMin2", from_number="+13125550100", to_number="+15005550006", body="who?")
    with django_capture_on_commit_callbacks(execute=True):
        assert message_receive(inbound=inbound) is not None
    assert stats_events(published) == []


def test_an_opt_out_publishes_for_every_campaign_holding_the_cell(
    contact: Contact,
    campaign: Campaign,
    organization: Organization,
    texter: User,
    published: Published,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = CampaignFactory.create(organization=organization)
    ContactFactory.create(campaign=other, cell=contact.cell)  # not assigned to anyone
    third = CampaignFactory.create(organization=organization)
    ContactFactory.create(campaign=third, assignment=AssignmentFactory.create(campaign=third, texter=texter))
    with django_capture_on_commit_callbacks(execute=True):
        optout_create(organization=organization, cell=contact.cell, source=OptOutSource.ORGANIZER)
    assert sorted(stats_events(published)) == sorted(
        [(f"campaign.{campaign.pk}", campaign.pk), (f"campaign.{other.pk}", other.pk)]
    )
    # The texter still hears about their own contact.
    changed = {"type": "live.event", "event": "contact_changed", "payload": {"contact_id": contact.pk}}
    assert (f"texter.{texter.pk}", changed) in published


def test_each_process_asks_the_shared_cache_once_per_window(
    campaign: Campaign,
    published: Published,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Redis: the add tells a process when the open window started, so it stops asking until it
    closes; another process that finds the window open learns the same and sends nothing."""
    from django.core.cache import caches

    import core.live
    from core.cache import add_or_get
    from core.live import stats_windows_forget
    from texting.tests.conftest import TEST_REDIS_URL

    settings.CACHES = {
        "default": {"BACKEND": "core.cache.TolerantRedisCache", "LOCATION": settings.REDIS_URL or TEST_REDIS_URL}
    }
    caches["default"].delete(f"live:stats:{campaign.pk}")
    asked: list[tuple[bool, Any]] = []

    def counting(*args: Any, **kwargs: Any) -> tuple[bool, Any]:
        answer = add_or_get(*args, **kwargs)
        asked.append(answer)
        return answer

    monkeypatch.setattr(core.live, "add_or_get", counting)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            publish_stats_changed(campaign_id=campaign.pk)
    assert len(asked) == 1 and asked[0] == (True, None)
    assert len(stats_events(published)) == 1
    stats_windows_forget()  # another process, which has not asked yet
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            publish_stats_changed(campaign_id=campaign.pk)
    assert len(asked) == 2 and asked[1][0] is False and isinstance(asked[1][1], float)
    assert len(stats_events(published)) == 1  # the window's event was already sent
    caches["default"].delete(f"live:stats:{campaign.pk}")
