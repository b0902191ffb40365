from __future__ import annotations

import pytest

from texting.segments import GSM7_BASIC, GSM7_EXTENDED, clean_text, is_gsm7, segment_count

EMOJI = "\U0001f600"  # 😀: one character, two UTF-16 code units


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm7_segments_hold_160_alone_and_153_when_concatenated(length: int, segments: int) -> None:
    assert segment_count("a" * length) == segments


def test_an_empty_body_is_one_segment() -> None:
    assert segment_count("") == 1


@pytest.mark.parametrize("char", ["€", "{", "}", "[", "]", "~", "|", "^", "\\"])
def test_extended_gsm7_characters_count_double(char: str) -> None:
    assert is_gsm7(char)
    assert segment_count("a" * 158 + char) == 1  # 158 + 2 = 160 septets
    assert segment_count("a" * 159 + char) == 2  # 161 septets


def test_eighty_euro_signs_fill_exactly_one_segment() -> None:
    assert segment_count("€" * 80) == 1
    assert segment_count("€" * 81) == 2


def test_an_escaped_character_is_not_split_across_two_parts() -> None:
    # 152 + 2 + 152 = 306 septets, which would fit in two parts of 153 only by splitting the €:
    # the escape and the character must travel in the same part, so it takes three.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3
    assert segment_count("a" * 151 + "€" + "a" * 152) == 2


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_segments_hold_70_alone_and_67_when_concatenated(length: int, segments: int) -> None:
    body = "ж" * length
    assert not is_gsm7(body)
    assert segment_count(body) == segments


def test_one_non_gsm_character_makes_the_whole_message_ucs2() -> None:
    assert segment_count("a" * 70 + "ж") == 2
    assert segment_count("a" * 69 + "ж") == 1


def test_an_emoji_counts_two_code_units() -> None:
    assert segment_count(EMOJI * 35) == 1  # 70 units
    assert segment_count(EMOJI + "a" * 69) == 2  # 71 units
    assert segment_count("a" * 68 + EMOJI) == 1


def test_an_emoji_is_not_split_across_two_parts() -> None:
    # 66 + 2 + 66 = 134 units would fill two parts of 67 only by splitting the surrogate pair.
    assert segment_count("a" * 66 + EMOJI + "a" * 66) == 3
    assert segment_count("a" * 65 + EMOJI + "a" * 67) == 2


def test_gsm7_covers_the_usual_accented_letters_and_newlines() -> None:
    assert not is_gsm7("Hello — there")  # the em dash is not GSM-7
    assert is_gsm7("Héllo Ñoño!\n£5 @ 9:00, ¿Qué? Ø Å ß Ç")
    assert not is_gsm7("¿sí?")  # í is not in the GSM-7 table (ì is)
    assert "\n" in GSM7_BASIC and "€" in GSM7_EXTENDED and "€" not in GSM7_BASIC


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("\u2018single\u2019", "'single'"),
        ("\u201cdouble\u201d", '"double"'),
        ("\u201elow\u201d", '"low"'),
        ("a\u2013b\u2014c", "a-b-c"),
        ("wait\u2026", "wait..."),
        ("9\u00a0am", "9 am"),
        ("9:00\u202fPM", "9:00 PM"),
        ("\u2022 item", "- item"),
        ("zero\u200bwidth", "zerowidth"),
    ],
)
def test_clean_text_replaces_typographic_punctuation(typed: str, clean: str) -> None:
    assert not is_gsm7(typed)
    assert clean_text(typed) == clean
    assert is_gsm7(clean_text(typed))


def test_clean_text_turns_a_ucs2_message_back_into_gsm7() -> None:
    body = "Hi Maria, it\u2019s Ada \u2014 can we count on your vote\u2026? " + "a" * 100
    assert segment_count(body) == 3  # UCS-2: 146 units
    cleaned = clean_text(body)
    assert cleaned == "Hi Maria, it's Ada - can we count on your vote...? " + "a" * 100
    assert segment_count(cleaned) == 1  # GSM-7: 151 septets


def test_clean_text_leaves_emoji_and_letters_alone() -> None:
    assert clean_text(f"Olá {EMOJI}") == f"Olá {EMOJI}"
