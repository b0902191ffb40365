from __future__ import annotations

import pytest

from campaigns.models import Contact, ContactStatus, OptOut
from spoke.testing import MessageFactory
from texting.models import Message, MessageStatus
from texting.providers.base import StatusReport
from texting.services import message_status_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(contact: Contact) -> Message:
    return MessageFactory(contact=contact, status=MessageStatus.SENT, provider_sid="SMstatus1")


def test_delivery_report_moves_the_message_forward_in_one_statement(sent: Message, assert_statements) -> None:
    with assert_statements(1):
        assert message_status_update(report=StatusReport(sid="SMstatus1", status="delivered"))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.delivered_at is not None


def test_late_sent_after_delivered_is_ignored(sent: Message) -> None:
    message_status_update(report=StatusReport(sid="SMstatus1", status="delivered"))
    assert not message_status_update(report=StatusReport(sid="SMstatus1", status="sent"))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED


def test_same_report_a_hundred_times_changes_it_once(sent: Message) -> None:
    changes = [message_status_update(report=StatusReport(sid="SMstatus1", status="delivered")) for _ in range(100)]
    assert changes.count(True) == 1


def test_unknown_status_and_unknown_sid_change_nothing(sent: Message) -> None:
    assert not message_status_update(report=StatusReport(sid="SMstatus1", status="read-by-martians"))
    assert not message_status_update(report=StatusReport(sid="SMnobody", status="delivered"))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_error_21610_opts_the_contact_out(sent: Message, contact: Contact) -> None:
    message_status_update(report=StatusReport(sid="SMstatus1", status="failed", error_code=21610))
    contact.refresh_from_db()
    sent.refresh_from_db()
    assert sent.status == MessageStatus.FAILED and sent.error_code == 21610
    assert contact.is_opted_out and contact.error_code == 21610
    assert OptOut.objects.get(cell=contact.cell).source == "provider"


def test_landline_error_closes_the_contact(sent: Message, contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    message_status_update(report=StatusReport(sid="SMstatus1", status="undelivered", error_code=21614))
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CLOSED and not contact.is_opted_out and contact.error_code == 21614
