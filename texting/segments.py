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
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2022": "-",
    }
)


def clean_text(body: str) -> str:
    return body.translate(REPLACEMENTS)


def is_gsm7(body: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in body)


def segment_count(body: str) -> int:
    if not body:
        return 1
    if is_gsm7(body):
        length = sum(2 if ch in GSM7_EXTENDED else 1 for ch in body)
        return 1 if length <= 160 else -(-length // 153)
    # UCS-2 counts UTF-16 code units: characters outside the BMP (emoji) take two.
    length = len(body.encode("utf-16-le")) // 2
    return 1 if length <= 70 else -(-length // 67)
