"""Texting hours: when a contact may be texted, in the contact's own timezone.

A contact's timezone comes from their zip code (`zipcodes`), else from their phone number
(`phonenumbers.timezone`, only when the number maps to exactly one zone), else the campaign's
timezone. All arithmetic uses zoneinfo, so DST days are right.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
import zipcodes
from phonenumbers import timezone as phone_timezone


@dataclass(frozen=True)
class TextingWindow:
    enforced: bool
    start_hour: int
    end_hour: int

    def is_open(self, now: dt.datetime, tz: ZoneInfo) -> bool:
        if not self.enforced:
            return True
        local = now.astimezone(tz)
        return self.start_hour <= local.hour < self.end_hour

    def closes_at(self, now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
        """The moment today's window closes for this contact (None when hours are not enforced)."""
        if not self.enforced:
            return None
        local = now.astimezone(tz)
        day = local.date()
        if self.end_hour >= 24:
            end_local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        else:
            end_local = dt.datetime.combine(day, dt.time(self.end_hour), tzinfo=tz)
        return end_local.astimezone(dt.UTC)


def window_for(
    *,
    override: bool,
    campaign_enforced: bool,
    campaign_start: int,
    campaign_end: int,
    org_enforced: bool,
    org_start: int,
    org_end: int,
) -> TextingWindow:
    if override:
        return TextingWindow(campaign_enforced, campaign_start, campaign_end)
    return TextingWindow(org_enforced, org_start, org_end)


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/New_York")


def is_valid_timezone(name: str) -> bool:
    return name in _known_zones()


@lru_cache(maxsize=100_000)
def timezone_from_zip(zip_code: str) -> str | None:
    head = (zip_code or "").strip().split("-", 1)[0][:5]
    if not (head.isascii() and head.isdigit()) or len(head) < 3:
        return None
    # Spreadsheets drop leading zeros: New England's 02108 arrives as 2108, Puerto Rico's 00901 as 901.
    five = head.zfill(5)
    try:
        matches = zipcodes.matching(five)
    except (TypeError, ValueError):
        return None
    if not matches:
        return None
    name = matches[0].get("timezone") or ""
    return name if is_valid_timezone(name) else None


@lru_cache(maxsize=10_000)
def timezone_from_cell(cell: str) -> str | None:
    try:
        parsed = phonenumbers.parse(cell, "US")
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezone.time_zones_for_number(parsed) if is_valid_timezone(z)]
    # A number that maps to several zones (most mobile numbers map to the whole country) says nothing.
    return zones[0] if len(zones) == 1 else None


def contact_timezone(*, zip_code: str, cell: str) -> str:
    """The contact's IANA timezone, or "" when neither the zip nor the number tells it."""
    return timezone_from_zip(zip_code) or timezone_from_cell(cell) or ""
