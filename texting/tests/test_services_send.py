from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine

from accounts.models import Membership, Organization, Role, User
from campaigns.models import Campaign, Contact, ContactStatus, OptOut
from core.errors import ApplicationError
from spoke.testing import ContactFactory
from texting.models import Direction, Message, MessageStatus
from texting.services import conversation_reopen, message_send, texter_opt_out, texter_skip

pytestmark = pytest.mark.django_db(transaction=False)


def test_first_message_is_the_script_filled_in_and_is_delivered_by_the_fake_provider(
    contact: Contact, texter: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(texter=texter, contact_id=contact.pk, body="ignored: not editable")
    message.refresh_from_db()
    contact.refresh_from_db()
    assert message.body == "Hi Maria, this is Ada with Vote Forward. Can we count on your vote?"
    assert message.direction == Direction.OUTBOUND
    assert message.status == MessageStatus.DELIVERED
    assert message.provider_sid and message.provider_sid.startswith("SMfake")
    assert contact.status == ContactStatus.MESSAGED


def test_send_is_three_statements_whatever_the_campaign_size(
    contact: Contact, texter: User, campaign: Campaign, assert_statements, django_capture_on_commit_callbacks
) -> None:
    ContactFactory.create_batch(30, campaign=campaign, assignment=contact.assignment)
    with django_capture_on_commit_callbacks(execute=False):
        with assert_statements(3):
            message_send(texter=texter, contact_id=contact.pk, body="")


def test_same_send_key_twice_is_refused_as_duplicate(contact: Contact, texter: User) -> None:
    key = uuid.uuid4()
    message_send(texter=texter, contact_id=contact.pk, body="", send_key=key)
    with pytest.raises(ApplicationError) as excinfo:
        message_send(texter=texter, contact_id=contact.pk, body="", send_key=key)
    assert excinfo.value.code == "duplicate"
    assert Message.objects.filter(contact=contact).count() == 1


def test_sending_to_an_opted_out_contact_is_refused(contact: Contact, texter: User) -> None:
    OptOut.objects.create(organization=contact.campaign.organization, cell=contact.cell, source="organizer")
    Contact.objects.filter(pk=contact.pk).update(is_opted_out=True)
    with pytest.raises(ApplicationError, match="opted out"):
        message_send(texter=texter, contact_id=contact.pk, body="hi")
    assert not Message.objects.exists()


def test_sending_to_another_texters_contact_is_refused(contact: Contact, other_texter: User) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        message_send(texter=other_texter, contact_id=contact.pk, body="hi")
    assert excinfo.value.status == 404
    assert not Message.objects.exists()


def test_sending_in_an_archived_campaign_is_refused(contact: Contact, texter: User, campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(is_archived=True)
    with pytest.raises(ApplicationError, match="archived"):
        message_send(texter=texter, contact_id=contact.pk, body="hi")


def test_sending_outside_texting_hours_in_the_contacts_timezone_is_refused(
    contact: Contact, texter: User, campaign: Campaign
) -> None:
    organization = campaign.organization
    organization.texting_hours_enforced = True
    organization.save()
    Contact.objects.filter(pk=contact.pk).update(timezone="America/Los_Angeles")
    # 03:30 UTC is 22:30 in New York but 19:30 in Los Angeles: inside hours for this contact.
    with time_machine.travel(dt.datetime(2026, 11, 3, 3, 30, tzinfo=dt.UTC), tick=False):
        message_send(texter=texter, contact_id=contact.pk, body="")
    other = ContactFactory(campaign=campaign, assignment=contact.assignment, timezone="America/New_York")
    with time_machine.travel(dt.datetime(2026, 11, 3, 3, 30, tzinfo=dt.UTC), tick=False):
        with pytest.raises(ApplicationError, match="Texting hours for this contact are 9 am to 9 pm"):
            message_send(texter=texter, contact_id=other.pk, body="")


def test_suspended_texter_cannot_send_to_their_contacts(contact: Contact, texter: User) -> None:
    Membership.objects.filter(user=texter).update(role=Role.SUSPENDED)
    with pytest.raises(ApplicationError) as excinfo:
        message_send(texter=texter, contact_id=contact.pk, body="hi")
    assert excinfo.value.status == 404
    assert not Message.objects.exists()


def test_first_message_to_an_already_texted_contact_is_refused(contact: Contact, texter: User) -> None:
    message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4(), first_message=True)
    with pytest.raises(ApplicationError) as excinfo:
        message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4(), first_message=True)
    assert excinfo.value.code == "already_messaged"
    assert Message.objects.filter(contact=contact).count() == 1


def test_opt_out_outside_texting_hours_opts_out_without_texting_at_night(
    contact: Contact, texter: User, campaign: Campaign
) -> None:
    Organization.objects.filter(pk=campaign.organization_id).update(texting_hours_enforced=True)
    with time_machine.travel(dt.datetime(2026, 11, 3, 5, 0, tzinfo=dt.UTC), tick=False):  # midnight in New York
        assert texter_opt_out(texter=texter, contact_id=contact.pk, send_message=True) is False
    contact.refresh_from_db()
    assert contact.is_opted_out
    assert not Message.objects.exists()


def test_opt_out_notice_is_the_organizations_message_even_before_a_first_message(
    contact: Contact, texter: User, campaign: Campaign
) -> None:
    assert texter_opt_out(texter=texter, contact_id=contact.pk, send_message=True) is True
    notice = Message.objects.get(contact=contact)
    assert notice.body == campaign.organization.opt_out_message and notice.is_opt_out_notice


def test_reopening_a_contact_skipped_before_any_text_puts_it_back_in_the_first_message_queue(
    contact: Contact, texter: User
) -> None:
    texter_skip(texter=texter, contact_id=contact.pk)
    contact.refresh_from_db()
    conversation_reopen(contact=contact)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.NEEDS_MESSAGE


def test_reopening_a_texted_contact_makes_it_a_conversation_again(contact: Contact, texter: User) -> None:
    message_send(texter=texter, contact_id=contact.pk, body="")
    texter_skip(texter=texter, contact_id=contact.pk)
    contact.refresh_from_db()
    conversation_reopen(contact=contact)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.CONVO
