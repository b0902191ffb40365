from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns.hours import (
    TextingWindow,
    contact_timezone,
    is_valid_timezone,
    timezone_from_cell,
    timezone_from_zip,
    window_for,
    zone,
)

NEW_YORK = ZoneInfo("America/New_York")
HONOLULU = ZoneInfo("Pacific/Honolulu")
PHOENIX = ZoneInfo("America/Phoenix")
DENVER = ZoneInfo("America/Denver")
ANCHORAGE = ZoneInfo("America/Anchorage")
PUERTO_RICO = ZoneInfo("America/Puerto_Rico")

NINE_TO_NINE = TextingWindow(enforced=True, start_hour=9, end_hour=21)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# --- the window's edges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        (utc(2026, 6, 15, 12, 59), False),  # 08:59 EDT
        (utc(2026, 6, 15, 13, 0), True),  # 09:00 EDT
        (utc(2026, 6, 16, 0, 59), True),  # 20:59 EDT (already the 16th in UTC)
        (utc(2026, 6, 16, 1, 0), False),  # 21:00 EDT
        (utc(2026, 6, 15, 7, 0), False),  # 03:00 EDT
    ],
)
def test_the_window_opens_at_nine_and_closes_at_nine_pm_local(now: dt.datetime, is_open: bool) -> None:
    assert NINE_TO_NINE.is_open(now, NEW_YORK) is is_open


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        (utc(2026, 1, 15, 13, 59), False),  # 08:59 EST
        (utc(2026, 1, 15, 14, 0), True),  # 09:00 EST
        (utc(2026, 1, 16, 1, 59), True),  # 20:59 EST
        (utc(2026, 1, 16, 2, 0), False),  # 21:00 EST
    ],
)
def test_the_window_follows_standard_time_in_winter(now: dt.datetime, is_open: bool) -> None:
    assert NINE_TO_NINE.is_open(now, NEW_YORK) is is_open


def test_closes_at_is_nine_pm_local_as_utc() -> None:
    assert NINE_TO_NINE.closes_at(utc(2026, 6, 15, 15, 0), NEW_YORK) == utc(2026, 6, 16, 1, 0)
    assert NINE_TO_NINE.closes_at(utc(2026, 1, 15, 15, 0), NEW_YORK) == utc(2026, 1, 16, 2, 0)


def test_closes_at_counts_from_the_contacts_local_day_not_the_utc_day() -> None:
    # 20:30 EDT on June 15 is already June 16 in UTC: the window still closes at 21:00 on the 15th.
    assert NINE_TO_NINE.closes_at(utc(2026, 6, 16, 0, 30), NEW_YORK) == utc(2026, 6, 16, 1, 0)


# --- DST change days in New York ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        # 2026-03-08: at 07:00 UTC clocks jump from 02:00 EST to 03:00 EDT.
        (utc(2026, 3, 8, 12, 59), False),  # 08:59 EDT
        (utc(2026, 3, 8, 13, 0), True),  # 09:00 EDT (08:00 had the day stayed on EST)
        (utc(2026, 3, 9, 0, 59), True),  # 20:59 EDT
        (utc(2026, 3, 9, 1, 0), False),  # 21:00 EDT (20:00 EST would still be open)
        # 2026-11-01: at 06:00 UTC clocks fall back from 02:00 EDT to 01:00 EST.
        (utc(2026, 11, 1, 13, 59), False),  # 08:59 EST (09:59 EDT would be open)
        (utc(2026, 11, 1, 14, 0), True),  # 09:00 EST
        (utc(2026, 11, 2, 1, 59), True),  # 20:59 EST (21:59 EDT would be closed)
        (utc(2026, 11, 2, 2, 0), False),  # 21:00 EST
    ],
)
def test_the_window_is_right_on_dst_change_days(now: dt.datetime, is_open: bool) -> None:
    assert NINE_TO_NINE.is_open(now, NEW_YORK) is is_open


def test_the_same_utc_instant_is_open_after_spring_forward_but_not_the_day_before() -> None:
    assert not NINE_TO_NINE.is_open(utc(2026, 3, 7, 13, 30), NEW_YORK)  # 08:30 EST
    assert NINE_TO_NINE.is_open(utc(2026, 3, 8, 13, 30), NEW_YORK)  # 09:30 EDT


def test_closes_at_on_dst_change_days() -> None:
    assert NINE_TO_NINE.closes_at(utc(2026, 3, 8, 13, 0), NEW_YORK) == utc(2026, 3, 9, 1, 0)  # 21:00 EDT
    assert NINE_TO_NINE.closes_at(utc(2026, 11, 1, 14, 0), NEW_YORK) == utc(2026, 11, 2, 2, 0)  # 21:00 EST


def test_closes_at_midnight_across_a_dst_change() -> None:
    until_midnight = TextingWindow(enforced=True, start_hour=9, end_hour=24)
    # Saturday evening before each change: midnight still has the old offset.
    assert until_midnight.closes_at(utc(2026, 3, 8, 2, 0), NEW_YORK) == utc(2026, 3, 8, 5, 0)  # 00:00 EST
    assert until_midnight.closes_at(utc(2026, 11, 1, 2, 0), NEW_YORK) == utc(2026, 11, 1, 4, 0)  # 00:00 EDT
    # The evening of each change: midnight has the new offset.
    assert until_midnight.closes_at(utc(2026, 3, 9, 2, 0), NEW_YORK) == utc(2026, 3, 9, 4, 0)  # 00:00 EDT
    assert until_midnight.closes_at(utc(2026, 11, 2, 2, 0), NEW_YORK) == utc(2026, 11, 2, 5, 0)  # 00:00 EST


# --- places without DST, or far from New York ---------------------------------------------------


@pytest.mark.parametrize("day", [dt.date(2026, 1, 15), dt.date(2026, 3, 8), dt.date(2026, 7, 15), dt.date(2026, 11, 1)])
def test_hawaii_is_utc_minus_ten_all_year(day: dt.date) -> None:
    nine_am = dt.datetime.combine(day, dt.time(19, 0), tzinfo=dt.UTC)
    assert not NINE_TO_NINE.is_open(nine_am - dt.timedelta(minutes=1), HONOLULU)
    assert NINE_TO_NINE.is_open(nine_am, HONOLULU)
    assert NINE_TO_NINE.closes_at(nine_am, HONOLULU) == nine_am + dt.timedelta(hours=12)
    assert not NINE_TO_NINE.is_open(nine_am + dt.timedelta(hours=12), HONOLULU)


@pytest.mark.parametrize("day", [dt.date(2026, 1, 15), dt.date(2026, 7, 15)])
def test_arizona_keeps_mountain_standard_time_all_year(day: dt.date) -> None:
    nine_am = dt.datetime.combine(day, dt.time(16, 0), tzinfo=dt.UTC)  # 09:00 MST
    assert not NINE_TO_NINE.is_open(nine_am - dt.timedelta(minutes=1), PHOENIX)
    assert NINE_TO_NINE.is_open(nine_am, PHOENIX)
    assert NINE_TO_NINE.closes_at(nine_am, PHOENIX) == nine_am + dt.timedelta(hours=12)


def test_arizona_differs_from_denver_only_in_summer() -> None:
    summer = utc(2026, 7, 15, 15, 30)  # 08:30 in Phoenix, 09:30 MDT in Denver
    assert not NINE_TO_NINE.is_open(summer, PHOENIX)
    assert NINE_TO_NINE.is_open(summer, DENVER)
    winter = utc(2026, 1, 15, 15, 30)  # 08:30 in both
    assert not NINE_TO_NINE.is_open(winter, PHOENIX)
    assert not NINE_TO_NINE.is_open(winter, DENVER)


def test_alaska_observes_dst() -> None:
    assert NINE_TO_NINE.is_open(utc(2026, 7, 15, 17, 0), ANCHORAGE)  # 09:00 AKDT
    assert not NINE_TO_NINE.is_open(utc(2026, 7, 15, 16, 59), ANCHORAGE)
    assert not NINE_TO_NINE.is_open(utc(2026, 1, 15, 17, 0), ANCHORAGE)  # 08:00 AKST
    assert NINE_TO_NINE.is_open(utc(2026, 1, 15, 18, 0), ANCHORAGE)  # 09:00 AKST
    assert NINE_TO_NINE.closes_at(utc(2026, 1, 15, 18, 0), ANCHORAGE) == utc(2026, 1, 16, 6, 0)


@pytest.mark.parametrize("day", [dt.date(2026, 1, 15), dt.date(2026, 7, 15)])
def test_puerto_rico_is_utc_minus_four_all_year(day: dt.date) -> None:
    nine_am = dt.datetime.combine(day, dt.time(13, 0), tzinfo=dt.UTC)
    assert not NINE_TO_NINE.is_open(nine_am - dt.timedelta(minutes=1), PUERTO_RICO)
    assert NINE_TO_NINE.is_open(nine_am, PUERTO_RICO)
    assert NINE_TO_NINE.closes_at(nine_am, PUERTO_RICO) == nine_am + dt.timedelta(hours=12)


def test_one_instant_is_open_in_new_york_and_closed_in_hawaii() -> None:
    now = utc(2026, 6, 15, 14, 0)  # 10:00 EDT, 04:00 HST
    assert NINE_TO_NINE.is_open(now, NEW_YORK)
    assert not NINE_TO_NINE.is_open(now, HONOLULU)


# --- other windows ------------------------------------------------------------------------------


def test_an_end_hour_of_24_keeps_the_window_open_until_midnight() -> None:
    window = TextingWindow(enforced=True, start_hour=9, end_hour=24)
    assert window.is_open(utc(2026, 6, 16, 3, 59), NEW_YORK)  # 23:59 EDT
    assert not window.is_open(utc(2026, 6, 16, 4, 0), NEW_YORK)  # 00:00 EDT
    assert window.closes_at(utc(2026, 6, 16, 3, 59), NEW_YORK) == utc(2026, 6, 16, 4, 0)


def test_a_window_from_0_to_24_is_always_open() -> None:
    window = TextingWindow(enforced=True, start_hour=0, end_hour=24)
    for hour in range(24):
        assert window.is_open(utc(2026, 6, 15, hour), NEW_YORK)


def test_hours_not_enforced_are_always_open_and_never_close() -> None:
    window = TextingWindow(enforced=False, start_hour=9, end_hour=21)
    for hour in range(24):
        assert window.is_open(utc(2026, 6, 15, hour), NEW_YORK)
    assert window.closes_at(utc(2026, 6, 15, 7), NEW_YORK) is None


def test_closes_at_is_in_utc() -> None:
    closes = NINE_TO_NINE.closes_at(utc(2026, 6, 15, 15), HONOLULU)
    assert closes is not None
    assert closes.utcoffset() == dt.timedelta(0)


def test_the_window_works_from_any_aware_now() -> None:
    paris = dt.datetime(2026, 6, 15, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 13:00 UTC, 09:00 EDT
    assert NINE_TO_NINE.is_open(paris, NEW_YORK)
    assert NINE_TO_NINE.closes_at(paris, NEW_YORK) == utc(2026, 6, 16, 1, 0)


# --- which window applies -----------------------------------------------------------------------

ORGANIZATION_HOURS = {"org_enforced": True, "org_start": 9, "org_end": 21}
CAMPAIGN_HOURS = {"campaign_enforced": False, "campaign_start": 10, "campaign_end": 20}


def test_window_for_uses_the_organizations_hours_without_an_override() -> None:
    window = window_for(override=False, **CAMPAIGN_HOURS, **ORGANIZATION_HOURS)
    assert window == TextingWindow(enforced=True, start_hour=9, end_hour=21)


def test_window_for_uses_the_campaigns_hours_when_it_overrides() -> None:
    window = window_for(override=True, **CAMPAIGN_HOURS, **ORGANIZATION_HOURS)
    assert window == TextingWindow(enforced=False, start_hour=10, end_hour=20)
    enforced = window_for(
        override=True, campaign_enforced=True, campaign_start=10, campaign_end=20, **ORGANIZATION_HOURS
    )
    assert not enforced.is_open(utc(2026, 6, 15, 13, 30), NEW_YORK)  # 09:30 EDT: open for the org, not here
    assert enforced.is_open(utc(2026, 6, 15, 14, 0), NEW_YORK)


# --- a contact's timezone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zip_code", "name"),
    [
        ("60614", "America/Chicago"),
        ("96813", "Pacific/Honolulu"),
        ("00901", "America/Puerto_Rico"),
        ("85001", "America/Phoenix"),
        ("99501", "America/Anchorage"),
        ("20001", "America/New_York"),
        ("60614-1234", "America/Chicago"),
        (" 60614 ", "America/Chicago"),
    ],
)
def test_timezone_from_zip(zip_code: str, name: str) -> None:
    assert timezone_from_zip(zip_code) == name


@pytest.mark.parametrize(("zip_code", "name"), [("2108", "America/New_York"), ("901", "America/Puerto_Rico")])
def test_timezone_from_zip_restores_leading_zeros_a_spreadsheet_dropped(zip_code: str, name: str) -> None:
    assert timezone_from_zip(zip_code) == name


@pytest.mark.parametrize("zip_code", ["", "   ", "12", "abcde", "00000", "6061A", "SW1A 1AA"])
def test_timezone_from_zip_is_none_for_a_bad_zip(zip_code: str) -> None:
    assert timezone_from_zip(zip_code) is None


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        ("+12025550175", "America/New_York"),
        ("+13125550175", "America/Chicago"),
        ("+18085550175", "Pacific/Honolulu"),
        ("+16025550175", "America/Phoenix"),
        ("+17875550175", "America/Puerto_Rico"),
    ],
)
def test_timezone_from_cell_uses_an_area_code_with_one_zone(cell: str, name: str) -> None:
    assert timezone_from_cell(cell) == name


@pytest.mark.parametrize(
    "cell",
    [
        "+18005550175",  # toll-free: the whole country
        "+15555550175",  # non-geographic
        "+19075550175",  # Alaska's one area code spans two zones
        "not a number",
        "",
    ],
)
def test_timezone_from_cell_is_none_when_the_number_does_not_say(cell: str) -> None:
    assert timezone_from_cell(cell) is None


def test_contact_timezone_prefers_the_zip_over_the_cell() -> None:
    assert contact_timezone(zip_code="60614", cell="+18085550175") == "America/Chicago"


def test_contact_timezone_falls_back_to_the_cell() -> None:
    assert contact_timezone(zip_code="", cell="+18085550175") == "Pacific/Honolulu"
    assert contact_timezone(zip_code="00000", cell="+18085550175") == "Pacific/Honolulu"


def test_contact_timezone_is_blank_when_neither_tells() -> None:
    # Blank means "use the campaign's timezone" to the callers.
    assert contact_timezone(zip_code="", cell="+18005550175") == ""
    assert contact_timezone(zip_code="abcde", cell="+19075550175") == ""


def test_zone_returns_the_named_zone() -> None:
    assert zone("Pacific/Honolulu") == HONOLULU


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "../etc/passwd"])
def test_zone_falls_back_to_new_york_for_a_bad_name(name: str) -> None:
    assert zone(name) == NEW_YORK


def test_is_valid_timezone() -> None:
    assert is_valid_timezone("America/Phoenix")
    assert not is_valid_timezone("America/Nowhere")
    assert not is_valid_timezone("")


# --- the import's fast lookups agree with the libraries -------------------------------------------


def test_area_code_lookup_gives_what_phonenumbers_gives_for_every_us_area_code() -> None:
    import phonenumbers

    from campaigns.hours import _cell_timezone_slow

    checked = 0
    for area in range(200, 1000):
        for exchange in (201, 555, 734, 989):
            cell = f"+1{area}{exchange}0147"
            parsed = phonenumbers.parse(cell)
            if not phonenumbers.is_valid_number(parsed) or phonenumbers.region_code_for_number(parsed) != "US":
                continue
            assert timezone_from_cell(cell) == _cell_timezone_slow(cell), cell
            checked += 1
    assert checked > 1_000


def test_area_codes_split_between_zones_are_read_to_the_exchange() -> None:
    # Idaho's 208 is Mountain in the south and Pacific in the north, by exchange.
    assert timezone_from_cell("+12082010100") == "America/Denver"
    assert timezone_from_cell("+12082150100") == "America/Los_Angeles"
    # A Caribbean mobile number: its area code is one island, one zone.
    assert timezone_from_cell("+18765550100") == "America/Jamaica"
    assert timezone_from_cell("+18005550100") is None  # toll-free says nothing
    assert timezone_from_cell("+442079460958") == "Europe/London"  # elsewhere: the full parse


def test_zip_table_gives_what_zipcodes_gives() -> None:
    import zipcodes

    for code in ("02108", "10001", "20001", "60601", "80202", "85001", "94103", "96813", "99501", "00901"):
        assert timezone_from_zip(code) == zipcodes.matching(code)[0]["timezone"], code
    assert timezone_from_zip("2108") == "America/New_York"  # a spreadsheet dropped the leading zero
    assert timezone_from_zip("94103-1234") == "America/Los_Angeles"
    assert timezone_from_zip("") is None and timezone_from_zip("ABCDE") is None
