"""Phone numbers to E.164.

The common US shapes (10 digits, or 11 starting with 1, with the usual punctuation) are handled
by a fast path, because imports normalise millions of them; anything else goes through the
full `phonenumbers` parse and validation.
"""

from __future__ import annotations

import phonenumbers

_PUNCTUATION = str.maketrans("", "", " ()-.\t")


def normalize_cell(raw: str, *, region: str = "US") -> str | None:
    """Return the number in E.164 (`+12025550175`), or None when it is not a valid number."""
    text = (raw or "").strip()
    compact = text.translate(_PUNCTUATION)
    explicit_nanp = compact.startswith("+1")
    if explicit_nanp:
        compact = compact[1:]
    # The fast path is for US-style input only; other regions' numbers of ten digits mean
    # something else. isascii() because isdigit() is also true of "²" and "５"; digits only, so
    # a letter (checked below for everything else) never reaches it.
    if (explicit_nanp or region == "US") and compact.isascii() and compact.isdigit():
        if len(compact) == 11 and compact[0] == "1":
            compact = compact[1:]
        # NANP: area code and exchange both start with 2-9, and N11 codes are services, not areas.
        if len(compact) == 10 and compact[0] in "23456789" and compact[3] in "23456789":
            return None if compact[1:3] == "11" else "+1" + compact
    # Letters make a cell column untrustworthy: `phonenumbers` would read "202-555-CALL" as a
    # vanity number and "x12" as an extension, and we would text whoever has the digits left.
    if not text or any(ch.isalpha() for ch in text):
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
