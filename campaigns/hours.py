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


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/New_York")


def is_valid_timezone(name: str) -> bool:
    return name in _known_zones()


def open_timezone_names(*, window: TextingWindow, fallback: str, now: dt.datetime) -> list[str]:
    """Every timezone value a contact may hold ("" meaning `fallback`) whose texting window is open
    now: a filter on the stored column that needs no look at the contacts themselves."""
    # Windows open and close on whole local hours, and every offset is whole minutes.
    return list(_open_timezone_names(window, fallback, now.astimezone(dt.UTC).replace(second=0, microsecond=0)))


@lru_cache(maxsize=64)
def _open_timezone_names(window: TextingWindow, fallback: str, minute: dt.datetime) -> tuple[str, ...]:
    names = [name for name in sorted(_known_zones()) if window.is_open(minute, zone(name))]
    if window.is_open(minute, zone(fallback)):
        names.append("")
    return tuple(names)


@lru_cache(maxsize=1)
def _zip_timezones() -> dict[str, str]:
    """Every 5-digit zip code with a known timezone, built once from `zipcodes`' list: an import
    looks up a million zips, and `zipcodes.matching` scans the whole list on every call."""
    timezones: dict[str, str] = {}
    for entry in zipcodes.list_all():
        name = entry.get("timezone") or ""
        if is_valid_timezone(name):
            timezones.setdefault(entry["zip_code"], name)
    return timezones


@lru_cache(maxsize=10_000)
def _zip_timezone_slow(zip_code: str) -> str | None:
    head = zip_code.strip().split("-", 1)[0][:5]
    if not (head.isascii() and head.isdigit()) or len(head) < 3:
        return None
    # Spreadsheets drop leading zeros: New England's 02108 arrives as 2108, Puerto Rico's 00901 as 901.
    return _zip_timezones().get(head.zfill(5))


def timezone_from_zip(zip_code: str) -> str | None:
    # The plain 5-digit zip is one dict lookup; "20001-1234", " 2108" and the like take the slow path.
    return _zip_timezones().get(zip_code) or (_zip_timezone_slow(zip_code) if zip_code else None)


@lru_cache(maxsize=1)
def _nanp_prefix_timezones() -> tuple[dict[str, str | None], int]:
    """`phonenumbers`' geographic timezone prefixes of North American numbers ("1202", "1208201"…),
    each mapped to its zone when it names exactly one, else None; and the longest prefix length.

    Looking up the longest matching prefix of a +1 number gives what `time_zones_for_number` gives
    for a valid geographic number, without parsing it (a parse costs ~50 µs; an import has millions).
    """
    from phonenumbers.tzdata import TIMEZONE_DATA

    prefixes: dict[str, str | None] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        # The bare country code lists every NANP zone: it never tells one.
        if prefix.startswith("1") and len(prefix) > 1:
            valid = [z for z in zones if is_valid_timezone(z)]
            prefixes[prefix] = valid[0] if len(valid) == 1 else None
    return prefixes, max(map(len, prefixes))


@lru_cache(maxsize=10_000)
def _cell_timezone_slow(cell: str) -> str | None:
    try:
        parsed = phonenumbers.parse(cell, "US")
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezone.time_zones_for_number(parsed) if is_valid_timezone(z)]
    # A number that maps to several zones (most mobile numbers map to the whole country) says nothing.
    return zones[0] if len(zones) == 1 else None


def timezone_from_cell(cell: str) -> str | None:
    """The timezone a number's area code (or exchange) tells, or None when it tells none or several."""
    if len(cell) == 12 and cell.startswith("+1") and cell[2] in "23456789":
        prefixes, longest = _nanp_prefix_timezones()
        digits = cell[1:]
        for length in range(longest, 1, -1):
            if (found := prefixes.get(digits[:length], "")) != "":
                return found
        # Toll-free, premium and personal numbers (800, 900, 500…) have no place.
        return None
    return _cell_timezone_slow(cell)


def contact_timezone(*, zip_code: str, cell: str) -> str:
    """The contact's IANA timezone, or "" when neither the zip nor the number tells it."""
    return timezone_from_zip(zip_code) or timezone_from_cell(cell) or ""
