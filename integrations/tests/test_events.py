"""Events emitted by the services reach the organization's endpoints, and cost the hot paths
nothing when nobody listens."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization, User
from campaigns.models import Campaign, Contact, InteractionStep, OptOutSource
from campaigns.services import campaign_archive, optout_create, optout_remove, question_response_set
from integrations.events import event_emit, subscriptions
from integrations.models import Event, WebhookEndpoint
from integrations.services import endpoint_create
from integrations.tests.conftest import Receiver
from spoke.testing import CampaignFactory, MessageFactory, TagFactory
from texting.outbox import outbox_drain
from texting.providers.base import StatusReport
from texting.services import message_status_update, texter_tags_set

Statements = Callable[[int], AbstractContextManager[CaptureQueriesContext]]


@pytest.mark.django_db
def test_emitting_costs_no_statement_when_nobody_listens(assert_statements: Statements) -> None:
    with assert_statements(0):
        event_emit(organization_id=1, event=Event.TAG_APPLIED, payload=lambda: pytest.fail("payload built"))


@pytest.mark.django_db
def test_emitting_for_an_organization_without_endpoints_costs_nothing(
    assert_statements: Statements, other_organization: Organization
) -> None:
    endpoint_create(organization=other_organization, url="https://example.org/hook", events=[Event.TAG_APPLIED])
    subscriptions()  # the first reader after a change rebuilds the cache (one statement)
    with assert_statements(0):
        event_emit(organization_id=other_organization.pk + 1, event=Event.TAG_APPLIED, payload={})


@pytest.mark.django_db
def test_delivery_report_stays_at_one_statement_with_no_endpoints(
    assert_statements: Statements, contact: Contact
) -> None:
    MessageFactory.create(contact=contact, provider_sid="SM1", status="sent")
    with assert_statements(1):
        assert message_status_update(report=StatusReport(sid="SM1", status="delivered", error_code=None))


@pytest.mark.django_db
def test_delivery_report_costs_two_statements_when_another_organization_listens(
    assert_statements: Statements, contact: Contact, other_organization: Organization
) -> None:
    endpoint_create(organization=other_organization, url="https://example.org/hook", events=[Event.MESSAGE_DELIVERED])
    subscriptions()
    MessageFactory.create(contact=contact, provider_sid="SM1", status="sent")
    with assert_statements(2):
        assert message_status_update(report=StatusReport(sid="SM1", status="delivered", error_code=None))


@pytest.mark.django_db
def test_saving_an_endpoint_refreshes_the_cached_subscriptions(organization: Organization) -> None:
    assert subscriptions() == {}
    endpoint = endpoint_create(organization=organization, url="https://example.org/hook", events=[Event.TAG_APPLIED])
    assert subscriptions() == {organization.pk: frozenset({"tag.applied"})}
    endpoint.is_active = False
    endpoint.save()
    assert subscriptions() == {}
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=True)  # no signal: the cache stays
    assert subscriptions() == {}


# --- Each event, from its service, to a real receiver -------------------------------------------

committed = pytest.mark.django_db(transaction=True)


@committed
def test_campaign_started_and_finished(endpoint: Any, receiver: Receiver, organization: Organization) -> None:
    campaign = CampaignFactory.create(organization=organization, is_started=False, use_dynamic_assignment=True)
    InteractionStep.objects.create(campaign=campaign, script="Hi")
    from campaigns.services import campaign_start
    from spoke.testing import ContactFactory

    ContactFactory.create(campaign=campaign)
    campaign_start(campaign=campaign)
    campaign_archive(campaign=campaign)
    assert receiver.events == ["campaign.started", "campaign.finished"]
    assert receiver.received[0]["data"] == {"campaign_id": campaign.pk, "title": campaign.title}


@committed
def test_optout_created_and_removed(endpoint: Any, receiver: Receiver, organization: Organization, owner: User) -> None:
    optout_create(organization=organization, cell="2025550175", source=OptOutSource.ORGANIZER, acting_user=owner)
    optout_create(organization=organization, cell="2025550175", source=OptOutSource.ORGANIZER)  # already out
    optout_remove(organization=organization, cell="+12025550175", reason="texted START", acting_user=owner)
    assert receiver.events == ["optout.created", "optout.removed"]
    assert receiver.received[0]["data"]["cell"] == "+12025550175"
    assert receiver.bad_signatures == 0


@committed
def test_survey_answer_and_tag_applied(
    endpoint: Any, receiver: Receiver, contact: Contact, campaign: Campaign, texter: User
) -> None:
    yes = InteractionStep.objects.get(campaign=campaign, answer_option="Yes")
    question_response_set(contact=Contact.objects.get(pk=contact.pk), step=yes)
    tag = TagFactory.create(organization=campaign.organization, name="needs ride")
    texter_tags_set(texter=texter, contact_id=contact.pk, tag_ids=[tag.pk])
    texter_tags_set(texter=texter, contact_id=contact.pk, tag_ids=[tag.pk])  # nothing new: no event
    assert receiver.events == ["survey.answer_recorded", "tag.applied"]
    answer, tagged = (body["data"] for body in receiver.received)
    assert (answer["question"], answer["answer"], answer["contact_id"]) == (
        "Can we count on your vote?",
        "Yes",
        contact.pk,
    )
    assert tagged["tags"] == [{"id": tag.pk, "name": "needs ride", "group": ""}]


@committed
def test_message_delivered_and_failed(endpoint: Any, receiver: Receiver, contact: Contact) -> None:
    MessageFactory.create(contact=contact, provider_sid="SM1", status="sent")
    MessageFactory.create(contact=contact, provider_sid="SM2", status="sent")
    message_status_update(report=StatusReport(sid="SM1", status="delivered", error_code=None))
    message_status_update(report=StatusReport(sid="SM1", status="delivered", error_code=None))  # a repeat
    message_status_update(report=StatusReport(sid="SM2", status="undelivered", error_code=30003))
    assert receiver.events == ["message.delivered", "message.failed"]
    assert receiver.received[1]["data"]["error_code"] == 30003


@committed
def test_other_organizations_events_are_not_sent(
    endpoint: Any, receiver: Receiver, other_organization: Organization
) -> None:
    optout_create(organization=other_organization, cell="2025550175", source=OptOutSource.ORGANIZER)
    assert receiver.received == []


@committed
def test_message_refused_at_send_time_is_reported_failed(endpoint: Any, receiver: Receiver, contact: Contact) -> None:
    # The fake provider refuses a body with "error21211" for good (an invalid number), before any callback.
    message = MessageFactory.create(
        contact=contact, body="Hi error21211", status="queued", queued_at=timezone.now(), provider_sid=None
    )
    outbox_drain(messaging_service_sid=message.messaging_service_sid)
    assert receiver.events == ["message.failed"]
    assert receiver.received[0]["data"]["message_id"] == message.pk
    assert receiver.received[0]["data"]["error_code"] == 21211


def test_each_process_keeps_the_subscriptions_a_second_and_its_own_changes_apply_at_once(
    organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from django.core.cache import cache

    from integrations import events

    monkeypatch.setattr(events, "LOCAL_SECONDS", 0.3)
    assert subscriptions() == {}
    # Another process adds an endpoint: it drops the shared copy; this process keeps its own a while.
    cache.set(events.SUBSCRIPTIONS_KEY, {organization.pk: frozenset({Event.OPTOUT_CREATED})}, timeout=None)
    assert subscriptions() == {}
    time.sleep(0.35)
    assert subscriptions() == {organization.pk: frozenset({Event.OPTOUT_CREATED})}
    # A change made here applies here at once.
    endpoint_create(
        organization=organization,
        url="https://hooks.example.com/spoke",
        events=[Event.MESSAGE_DELIVERED],
    )
    assert subscriptions() == {organization.pk: frozenset({Event.MESSAGE_DELIVERED})}
