"""Texting hours at the edges, through the send service: DST change days, Hawaii, Alaska and
Puerto Rico contacts, a contact whose timezone nothing tells (the campaign's applies) and a
campaign's own hours overriding the organization's."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine

from accounts.models import Organization, User
from campaigns.hours import contact_timezone
from campaigns.models import Campaign, Contact
from core.errors import ApplicationError
from spoke.testing import ContactFactory
from texting.models import Message
from texting.services import message_send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enforced(campaign: Campaign) -> None:
    Organization.objects.filter(pk=campaign.organization_id).update(
        texting_hours_enforced=True, texting_hours_start=9, texting_hours_end=21
    )


def _sendable(texter: User, contact: Contact, at: dt.datetime) -> bool:
    with time_machine.travel(at, tick=False):
        try:
            message_send(texter=texter, contact_id=contact.pk, body="", send_key=uuid.uuid4(), first_message=True)
        except ApplicationError as error:
            assert "Texting hours" in error.message
            return False
    Message.objects.filter(contact=contact).delete()
    Contact.objects.filter(pk=contact.pk).update(status="needs_message")
    return True


def _contact(assignment_contact: Contact, tz: str, **kwargs: object) -> Contact:
    return ContactFactory(
        campaign=assignment_contact.campaign, assignment=assignment_contact.assignment, timezone=tz, **kwargs
    )


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("at", "sendable"),
    [
        # 2026-03-08, spring forward in New York: 12:59 UTC is 08:59 EDT, 13:00 UTC is 09:00 EDT.
        (utc(2026, 3, 8, 12, 59), False),
        (utc(2026, 3, 8, 13, 0), True),
        # The day before, 13:00 UTC was 08:00 EST: still closed.
        (utc(2026, 3, 7, 13, 0), False),
        # 2026-11-01, fall back: 01:59 UTC on Nov 2 is 20:59 EST; 02:00 UTC is 21:00 EST, closed.
        (utc(2026, 11, 2, 1, 59), True),
        (utc(2026, 11, 2, 2, 0), False),
    ],
)
def test_new_york_on_dst_change_days(contact: Contact, texter: User, at: dt.datetime, sendable: bool) -> None:
    assert _sendable(texter, _contact(contact, "America/New_York"), at) is sendable


@pytest.mark.parametrize(
    ("tz", "at", "sendable"),
    [
        ("Pacific/Honolulu", utc(2026, 7, 1, 18, 59), False),  # 08:59 HST (14:59 in New York)
        ("Pacific/Honolulu", utc(2026, 7, 1, 19, 0), True),  # 09:00 HST
        ("Pacific/Honolulu", utc(2026, 1, 15, 19, 0), True),  # no DST: the same in winter
        ("America/Anchorage", utc(2026, 7, 2, 4, 59), True),  # 20:59 AKDT
        ("America/Anchorage", utc(2026, 7, 2, 5, 0), False),  # 21:00 AKDT
        ("America/Anchorage", utc(2026, 1, 16, 5, 0), True),  # 20:00 AKST: Alaska observes DST
        ("America/Puerto_Rico", utc(2026, 7, 1, 12, 59), False),  # 08:59 AST, no DST
        ("America/Puerto_Rico", utc(2026, 1, 15, 13, 0), True),  # 09:00 AST in winter too
    ],
)
def test_hawaii_alaska_and_puerto_rico(
    contact: Contact, texter: User, tz: str, at: dt.datetime, sendable: bool
) -> None:
    assert _sendable(texter, _contact(contact, tz), at) is sendable


def test_a_contact_whose_timezone_nothing_tells_gets_the_campaigns(
    contact: Contact, texter: User, campaign: Campaign
) -> None:
    assert contact_timezone(zip_code="00000", cell="+18005550100") == ""  # unknown zip, toll-free number
    unknown = _contact(contact, "", zip="00000", cell="+18005550100")
    Campaign.objects.filter(pk=campaign.pk).update(timezone="America/Los_Angeles")
    # 03:30 UTC: 22:30 in New York (closed), 19:30 in Los Angeles (open): the campaign's zone decides.
    assert _sendable(texter, unknown, utc(2026, 11, 3, 3, 30)) is True
    Campaign.objects.filter(pk=campaign.pk).update(timezone="America/New_York")
    assert _sendable(texter, unknown, utc(2026, 11, 3, 3, 30)) is False


def test_a_campaigns_own_hours_override_the_organizations(contact: Contact, texter: User, campaign: Campaign) -> None:
    ny = _contact(contact, "America/New_York")
    at = utc(2026, 6, 15, 13, 30)  # 09:30 EDT: open for the organization (9–21)
    assert _sendable(texter, ny, at) is True
    Campaign.objects.filter(pk=campaign.pk).update(
        override_org_texting_hours=True, texting_hours_enforced=True, texting_hours_start=10, texting_hours_end=20
    )
    assert _sendable(texter, ny, at) is False
    Campaign.objects.filter(pk=campaign.pk).update(texting_hours_enforced=False)  # the campaign texts any time
    assert _sendable(texter, ny, utc(2026, 6, 15, 4, 0)) is True  # midnight in New York
