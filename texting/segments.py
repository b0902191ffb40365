"""SMS segment counting (GSM-7 vs UCS-2) and the smart-punctuation clean-up applied on send."""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")

# Typographic characters that phones and word processors insert, mapped to GSM-7 ones, so a
# single curly quote does not halve the length of a segment.
REPLACEMENTS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2032": "'",
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u200b": "",
        "\ufeff": "",
        "\u2022": "-",
    }
)


def clean_text(body: str) -> str:
    return body.translate(REPLACEMENTS)


def is_gsm7(body: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in body)


# A concatenated part gives 7 bytes of its 140 to the header: 153 GSM-7 septets or 67 UCS-2 units.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def _parts(sizes: list[int], single: int, part: int) -> int:
    """How many parts the characters of these sizes fill, never splitting one across two parts
    (an escaped GSM-7 character or a UTF-16 surrogate pair always travels whole)."""
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def segment_count(body: str) -> int:
    if not body:
        return 1
    if is_gsm7(body):
        return _parts([2 if ch in GSM7_EXTENDED else 1 for ch in body], GSM7_SINGLE, GSM7_PART)
    # UCS-2 counts UTF-16 code units: characters outside the BMP (emoji) take two.
    return _parts([2 if ord(ch) > 0xFFFF else 1 for ch in body], UCS2_SINGLE, UCS2_PART)
