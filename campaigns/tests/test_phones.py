from __future__ import annotations

import pytest

from campaigns.phones import normalize_cell


@pytest.mark.parametrize(
    "raw",
    [
        "2025550175",
        "12025550175",
        "+12025550175",
        "(202) 555-0175",
        "202-555-0175",
        "202.555.0175",
        "+1 202 555 0175",
        "+1 (202) 555-0175",
        "1-202-555-0175",
        "  2025550175\t",
    ],
)
def test_us_numbers_in_their_usual_shapes_become_e164(raw: str) -> None:
    assert normalize_cell(raw) == "+12025550175"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("011 44 20 7946 0958", "+442079460958"),  # the US international dialling prefix
    ],
)
def test_international_numbers_become_e164(raw: str, e164: str) -> None:
    assert normalize_cell(raw) == e164


def test_a_national_number_is_read_in_the_given_region() -> None:
    assert normalize_cell("07911 123456", region="GB") == "+447911123456"
    # Ten digits mean a US number only in the US; "+1" says so in any region.
    assert normalize_cell("2025550175", region="GB") is None
    assert normalize_cell("+1 202 555 0175", region="GB") == "+12025550175"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "555-0175",  # seven digits: no area code
        "202555017",  # nine digits
        "202-555-01755",  # eleven digits not starting with 1
        "20255501751",
        "+1202555017",
        "abc",
        "not a number",
        "1025550175",  # ten digits, area code starting with 1
        "0255550175",  # ten digits, area code starting with 0
        "2021550175",  # exchange starting with 1
        "2020550175",  # exchange starting with 0
        "9115550175",  # N11 is a service code, not an area code
    ],
)
def test_invalid_numbers_are_rejected(raw: str) -> None:
    assert normalize_cell(raw) is None


def test_none_is_rejected() -> None:
    assert normalize_cell(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["202-555-CALL", "2025550175 x12", "+1 (202) 555-0175 ext 12", "cell: 2025550175"])
def test_numbers_with_letters_are_rejected_not_guessed(raw: str) -> None:
    # phonenumbers alone would read the letters as a vanity number or an extension.
    assert normalize_cell(raw) is None


@pytest.mark.parametrize("raw", ["2²25550175", "20²5550175"])
def test_non_ascii_digits_never_reach_the_result(raw: str) -> None:
    assert normalize_cell(raw) is None


def test_fullwidth_digits_are_read_as_digits() -> None:
    assert normalize_cell("２０２５５５０１７５") == "+12025550175"


def test_normalizing_is_idempotent() -> None:
    for raw in ["(202) 555-0175", "+44 20 7946 0958"]:
        once = normalize_cell(raw)
        assert once is not None
        assert normalize_cell(once) == once
