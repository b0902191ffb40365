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


# --- A report that beats the worker's result write -------------------------------------------------


@pytest.fixture
def in_flight(contact: Contact) -> Message:
    """Claimed by a worker and handed to the provider; the batch's results are not written yet."""
    return MessageFactory(contact=contact, status=MessageStatus.SENDING, provider_sid=None)


def test_a_report_arriving_before_the_sid_is_written_is_applied_by_our_id(in_flight: Message) -> None:
    assert message_status_update(report=StatusReport(sid="SMearly", status="delivered", message_id=in_flight.pk))
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.provider_sid) == (MessageStatus.DELIVERED, "SMearly")


def test_the_batch_result_written_after_an_early_report_does_not_move_it_back(in_flight: Message) -> None:
    from texting.outbox import _write_results

    message_status_update(report=StatusReport(sid="SMearly", status="delivered", message_id=in_flight.pk))
    _write_results([Message(pk=in_flight.pk, status=MessageStatus.SENT, provider_sid="SMearly", status_note="")])
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.provider_sid) == (MessageStatus.DELIVERED, "SMearly")


def test_an_ambiguous_send_the_provider_took_is_settled_by_its_report(in_flight: Message) -> None:
    from texting.outbox import REVIEW_NOTE, _write_results

    message_status_update(report=StatusReport(sid="SMlate", status="sent", message_id=in_flight.pk))
    _write_results([Message(pk=in_flight.pk, status=MessageStatus.REVIEW, status_note=REVIEW_NOTE)])
    in_flight.refresh_from_db()
    assert in_flight.status == MessageStatus.SENT and in_flight.status_note == ""


def test_a_report_for_our_id_with_another_sid_changes_nothing(sent: Message) -> None:
    assert not message_status_update(report=StatusReport(sid="SMother", status="delivered", message_id=sent.pk))
    sent.refresh_from_db()
    assert (sent.status, sent.provider_sid) == (MessageStatus.SENT, "SMstatus1")


# --- Each error code's action ----------------------------------------------------------------------


def test_an_error_report_costs_two_statements(sent: Message, contact: Contact, assert_statements) -> None:
    with assert_statements(2):
        message_status_update(report=StatusReport(sid="SMstatus1", status="undelivered", error_code=30007))


@pytest.mark.parametrize("code", [21211, 21614, 30005, 30006])
def test_a_number_that_cannot_receive_texts_closes_the_contact(sent: Message, contact: Contact, code: int) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    message_status_update(report=StatusReport(sid="SMstatus1", status="undelivered", error_code=code))
    contact.refresh_from_db()
    assert (contact.status, contact.is_opted_out, contact.error_code) == (ContactStatus.CLOSED, False, code)


@pytest.mark.parametrize("code", [30007, 30003, 30008, 30001, 21611, 63017])
def test_other_errors_are_recorded_and_leave_the_conversation_open(sent: Message, contact: Contact, code: int) -> None:
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.MESSAGED)
    message_status_update(report=StatusReport(sid="SMstatus1", status="undelivered", error_code=code))
    contact.refresh_from_db()
    sent.refresh_from_db()
    assert (contact.status, contact.is_opted_out, contact.error_code) == (ContactStatus.MESSAGED, False, code)
    assert (sent.status, sent.error_code) == (MessageStatus.UNDELIVERED, code)


def test_carrier_filtering_is_counted_for_the_organizer(contact: Contact) -> None:
    from texting.errors import CARRIER_FILTERING_CODES

    for i, code in enumerate([30007, 30007, 30003]):
        MessageFactory(contact=contact, provider_sid=f"SMf{i}", status=MessageStatus.SENT)
        message_status_update(report=StatusReport(sid=f"SMf{i}", status="undelivered", error_code=code))
    filtered = Message.objects.filter(campaign=contact.campaign, error_code__in=CARRIER_FILTERING_CODES)
    assert filtered.count() == 2
