from __future__ import annotations

import pytest

from texting.errors import CARRIER_FILTERING_CODES, CATALOG, ErrorAction, describe

# Every code the issue names, and what Spoke must do about each.
NAMED = {
    21211: ErrorAction.CLOSE_CONTACT,
    21408: ErrorAction.NONE,
    21610: ErrorAction.OPT_OUT,
    21611: ErrorAction.NONE,
    21612: ErrorAction.NONE,
    21614: ErrorAction.CLOSE_CONTACT,
    20429: ErrorAction.NONE,
    63017: ErrorAction.NONE,
    30007: ErrorAction.CARRIER_FILTERED,
}


@pytest.mark.parametrize("code", [*NAMED, *range(30001, 30011)])
def test_every_code_that_matters_has_a_plain_description(code: int) -> None:
    info = CATALOG[code]
    assert info.description and not info.description.startswith("Provider error")
    if code in NAMED:
        assert info.action is NAMED[code]


@pytest.mark.parametrize("code", [20429, 21611, 30001, 30003, 30008, 30009, 63017])
def test_rate_limits_and_congestion_are_transient(code: int) -> None:
    assert CATALOG[code].transient


@pytest.mark.parametrize("code", [21211, 21610, 21614, 30002, 30004, 30005, 30006, 30007, 30010])
def test_refusals_and_dead_numbers_are_permanent(code: int) -> None:
    assert CATALOG[code].permanent and not CATALOG[code].transient


def test_invalid_and_landline_numbers_close_the_contact() -> None:
    closing = {code for code, info in CATALOG.items() if info.action is ErrorAction.CLOSE_CONTACT}
    assert {21211, 21614, 30005, 30006} <= closing


def test_carrier_filtering_codes() -> None:
    assert 30007 in CARRIER_FILTERING_CODES and CATALOG[30007].carrier_filtered


def test_an_unknown_code_is_described_by_its_number() -> None:
    info = describe(99999)
    assert info is not None and info.description == "Provider error 99999" and info.action is ErrorAction.NONE
    assert describe(None) is None
